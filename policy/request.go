package policy

import (
	"fmt"
	"net/netip"
	"strconv"

	"github.com/agentpassport/passport/agentid"
)

// Action is what an agent is about to do: the Cedar action of a
// request. The schema defines four.
type Action string

// The actions of the agent entity model.
const (
	// InvokeTool is an agent calling a [Tool].
	InvokeTool Action = "invoke_tool"
	// CallAPI is an agent calling an [API].
	CallAPI Action = "call_api"
	// AcquireToken is an agent asking for an access token for an [API].
	AcquireToken Action = "acquire_token"
	// InvokeAgent is an agent calling another agent ([AgentResource]).
	InvokeAgent Action = "invoke_agent"
)

// resourceTypeOf is the resource type each action applies to.
func (a Action) resourceType() (ResourceType, bool) {
	switch a {
	case InvokeTool:
		return TypeTool, true
	case CallAPI, AcquireToken:
		return TypeAPI, true
	case InvokeAgent:
		return TypeAgent, true
	}
	return "", false
}

// Risk is a risk level, as Microsoft Entra ID Protection grades agents
// and sign-ins. Policies see it as a Long from 0 to 3.
type Risk int

// Risk levels.
const (
	RiskNone Risk = iota
	RiskLow
	RiskMedium
	RiskHigh
)

// String returns "none", "low", "medium" or "high".
func (r Risk) String() string {
	switch r {
	case RiskNone:
		return "none"
	case RiskLow:
		return "low"
	case RiskMedium:
		return "medium"
	case RiskHigh:
		return "high"
	}
	return "policy.Risk(" + strconv.Itoa(int(r)) + ")"
}

// Agent is the principal of every request: Cedar entity Agent::"<ID>",
// whose parents are Blueprint::"<BlueprintID>" and Group::"<g>" for each
// of Groups.
type Agent struct {
	// ID is the agent's application (client) id. Required.
	ID string
	// TenantID is the directory the agent lives in.
	TenantID string
	// BlueprintID is the blueprint the agent was created from.
	BlueprintID string
	// Kind is how the agent acts (attribute kind: "autonomous",
	// "delegated", "agent_user" or "unknown").
	Kind agentid.Kind
	// Sponsors are the people who answer for the agent.
	Sponsors []string
	// Risk is the agent's risk level.
	Risk Risk
	// Tags are free-form labels.
	Tags []string
	// Groups are the groups the agent is a member of.
	Groups []string
}

// User is the user a delegated agent acts for: Cedar entity
// User::"<ID>", in Group::"<g>" for each of Groups, and context.user.
type User struct {
	// ID is the user's object id (oid) or subject. Required.
	ID string
	// Groups are the groups the user is a member of.
	Groups []string
}

// ResourceType is the Cedar entity type of a [Resource].
type ResourceType string

// The resource types of the agent entity model.
const (
	TypeTool  ResourceType = "Tool"
	TypeAPI   ResourceType = "Api"
	TypeAgent ResourceType = "Agent"
)

// Resource is what an action is done to: Cedar entity Type::"<ID>", in
// Group::"<g>" for each of Groups.
type Resource struct {
	// Type is the entity type: [TypeTool], [TypeAPI] or [TypeAgent].
	Type ResourceType
	// ID names the resource: a tool name, an API's resource identifier
	// (e.g. "api://orders"), or an agent id.
	ID string
	// Risk is the resource's risk level (attribute risk).
	Risk Risk
	// Tags are free-form labels (attribute tags).
	Tags []string
	// Groups are the groups the resource is a member of.
	Groups []string
}

// Tool returns the resource Tool::"<name>".
func Tool(name string) Resource { return Resource{Type: TypeTool, ID: name} }

// API returns the resource Api::"<id>", where id is the API's resource
// identifier, such as "api://orders": the same name on the agent's side
// (acquire_token, call_api) and on the API's side ([Middleware]).
func API(id string) Resource { return Resource{Type: TypeAPI, ID: id} }

// AgentResource returns the resource Agent::"<id>", the agent that
// [InvokeAgent] calls.
func AgentResource(id string) Resource { return Resource{Type: TypeAgent, ID: id} }

// String returns the Cedar form of r, e.g. `Tool::"refund"`.
func (r Resource) String() string { return string(r.Type) + "::" + strconv.Quote(r.ID) }

// HTTPInfo is the HTTP request a call_api decision is about
// (context.http).
type HTTPInfo struct {
	Method string
	Path   string
}

// Subject is who acts and in which circumstances: everything in a
// [Request] but the action, the resource and the arguments. Build it
// with [FromPrincipal] on the side that receives a call, or
// [FromIdentity] on the agent's own side, so that one policy file reads
// the same on both sides.
type Subject struct {
	// Agent is the principal.
	Agent Agent
	// User is the user the agent acts for; nil when it acts as itself.
	User *User
	// Scopes are the scopes of the caller's token (context.scopes).
	Scopes []string
	// Delegation is the RFC 8693 act chain, outermost (current) actor
	// first (context.delegation).
	Delegation []string
	// SourceIP is the address the call came from (context.source_ip);
	// absent when invalid.
	SourceIP netip.Addr
	// Risk is the risk of the session or sign-in (context.risk).
	Risk Risk
	// Session is the session or conversation id (context.session, and
	// the key of running totals); absent when empty.
	Session string
}

// Request asks whether a subject may do an action to a resource.
type Request struct {
	// Subject is who acts.
	Subject Subject
	// Action is what it does.
	Action Action
	// Resource is what it does it to. Its type must be the one the action
	// applies to: Tool for invoke_tool, Api for call_api and
	// acquire_token, Agent for invoke_agent.
	Resource Resource
	// Args are the tool arguments (context.args). Only the arguments
	// declared with [WithArgument] reach the policies; the others are
	// ignored. A declared argument of the wrong type makes the request
	// invalid.
	Args map[string]any
	// HTTP is the HTTP request (context.http), set by [Middleware].
	HTTP *HTTPInfo
}

// validate checks what Cedar cannot be asked without.
func (r *Request) validate() error {
	switch {
	case r.Subject.Agent.ID == "":
		return fmt.Errorf("%w: no agent id", ErrInvalidRequest)
	case r.Subject.User != nil && r.Subject.User.ID == "":
		return fmt.Errorf("%w: a user without an id", ErrInvalidRequest)
	case r.Resource.ID == "":
		return fmt.Errorf("%w: no resource id", ErrInvalidRequest)
	}
	want, ok := r.Action.resourceType()
	if !ok {
		return fmt.Errorf("%w: unknown action %q", ErrInvalidRequest, r.Action)
	}
	if r.Resource.Type != want {
		return fmt.Errorf("%w: %s applies to %s, not %q", ErrInvalidRequest, r.Action, want, r.Resource.Type)
	}
	for _, v := range []Risk{r.Subject.Agent.Risk, r.Subject.Risk, r.Resource.Risk} {
		if v < RiskNone || v > RiskHigh {
			return fmt.Errorf("%w: risk level %d, want 0 to 3", ErrInvalidRequest, int(v))
		}
	}
	return nil
}
