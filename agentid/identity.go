package agentid

import (
	"fmt"
	"strings"
)

// Kind says how an agent acts.
type Kind int

const (
	// KindUnknown is the zero Kind: nothing is known of how the agent acts.
	KindUnknown Kind = iota
	// Autonomous is an agent acting as itself, with its own permissions
	// (an app-only token; Entra facet 11, agent identity).
	Autonomous
	// Delegated is an agent acting on behalf of a signed-in user, with the
	// intersection of the user's and the agent's permissions (on-behalf-of).
	Delegated
	// AgentUser is an agent acting as its own user account (Entra facet 13,
	// agent user).
	AgentUser
)

// String returns the lower-case name of k, as used in logs and policies.
func (k Kind) String() string {
	switch k {
	case Autonomous:
		return "autonomous"
	case Delegated:
		return "delegated"
	case AgentUser:
		return "agent_user"
	case KindUnknown:
		return "unknown"
	}
	return fmt.Sprintf("agentid.Kind(%d)", int(k))
}

// MarshalText implements [encoding.TextMarshaler]: k's String, so that
// JSON and other text encodings carry "autonomous" rather than a number.
func (k Kind) MarshalText() ([]byte, error) {
	switch k {
	case KindUnknown, Autonomous, Delegated, AgentUser:
		return []byte(k.String()), nil
	}
	return nil, fmt.Errorf("agentid: invalid Kind %d", int(k))
}

// UnmarshalText implements [encoding.TextUnmarshaler], accepting the
// names String returns, in any case.
func (k *Kind) UnmarshalText(text []byte) error {
	for _, v := range []Kind{KindUnknown, Autonomous, Delegated, AgentUser} {
		if strings.EqualFold(string(text), v.String()) {
			*k = v
			return nil
		}
	}
	return fmt.Errorf("agentid: unknown Kind %q", text)
}

// Identity describes an agent: the tenant it lives in, its own
// application id, the blueprint it was created from, and the people who
// answer for it. It holds no secret.
type Identity struct {
	// TenantID is the directory (tenant) the agent identity lives in.
	TenantID string
	// AgentID is the agent identity's application (client) id.
	AgentID string
	// BlueprintID is the application id of the agent identity blueprint the
	// agent was created from. For a single-instance agent it equals AgentID.
	BlueprintID string
	// Name is a display name.
	Name string
	// Kind is how the agent acts.
	Kind Kind
	// Sponsors are the object ids (or user principal names) of the humans
	// accountable for the agent.
	Sponsors []string
	// Metadata holds free-form descriptive attributes.
	Metadata map[string]string
}
