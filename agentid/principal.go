package agentid

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Entra facets (xms_act_fct, xms_sub_fct) that mark agents.
const (
	facetAgentIdentity = 11 // the actor (or subject) is an agent identity
	facetAgentUser     = 13 // the subject is an agent user
)

// Principal is the caller a verified access token names: which agent,
// created from which blueprint, acting how, for which user, through which
// delegation chain, with which permissions.
//
// [Verifier.Verify] builds it from a token whose signature, issuer,
// audience and lifetime it checked. It holds the token's claims but never
// the token itself. A Principal returned by Verify may be shared (by the
// token cache, between requests that send the same token) and must be
// treated as read-only; it is then safe for concurrent use.
type Principal struct {
	// Issuer is iss: the authorization server that issued the token.
	Issuer string
	// Subject is sub. In an app token of Microsoft Entra ID it is the
	// object id of the agent's service principal; in a delegated or
	// agent-user token, the user's (pairwise) id.
	Subject string
	// TenantID is tid, the directory the token was issued in.
	TenantID string
	// AgentID is the application (client) id of the calling agent: azp,
	// else appid (Entra v1), else client_id (RFC 8693 §4.3, RFC 9068).
	AgentID string
	// BlueprintID is xms_par_app_azp: the application id of the agent
	// identity blueprint the agent was created from. It is informational
	// only: never authorize on it, because any agent of the blueprint,
	// with its own permissions, carries the same value. Authorize on
	// AgentID, Roles and Scopes.
	BlueprintID string
	// Kind is how the agent acts, derived from the facets, idtyp and act
	// as the package documentation describes.
	Kind Kind
	// TokenType is idtyp: "app" for an app-only token, "user" for a token
	// with a user subject; empty when the issuer does not send it.
	TokenType string
	// ActorFacets is xms_act_fct, the Entra facets of the actor, sorted:
	// 11 means the actor is an agent identity.
	ActorFacets []int
	// SubjectFacets is xms_sub_fct, the Entra facets of the subject,
	// sorted: 13 means the subject is an agent user.
	SubjectFacets []int
	// UserID is the user the token is for: oid (else sub) when idtyp is
	// "user", or sub for an RFC 8693 delegated token (act present, no
	// idtyp). For an agent user it is the agent user's object id. It is
	// empty for app tokens.
	UserID string
	// UserPrincipalName is upn, else preferred_username, when the token
	// has a user.
	UserPrincipalName string
	// Actors is the RFC 8693 delegation chain (the act claim), outermost
	// first: Actors[0] is the current actor, Actors[1] the actor it acts
	// for, and so on. It is empty when the token has no act claim.
	Actors []Actor
	// Scopes are the delegated permissions: the values of scp (a
	// space-separated string or an array) and scope, without duplicates.
	Scopes []string
	// Roles are the app roles (or directory roles) in roles.
	Roles []string
	// Audience is aud: the resources the token is for.
	Audience []string
	// TokenID is jti, else Entra's uti: the token's unique identifier.
	TokenID string
	// IssuedAt is iat; zero if absent.
	IssuedAt time.Time
	// ExpiresAt is exp.
	ExpiresAt time.Time

	// claims is the JSON claims set: the token's payload, decoded from
	// base64url, without the header or signature. Read by Claim.
	claims string
}

// newPrincipal builds the Principal of verified claims c, whose JSON is
// payload.
func newPrincipal(c *claims, payload string) *Principal {
	p := &Principal{
		Issuer:        c.Iss,
		Subject:       c.Sub,
		TenantID:      c.Tid,
		AgentID:       firstNonEmpty(c.Azp, c.AppID, c.ClientID),
		BlueprintID:   c.Parent,
		Kind:          deriveKind(c),
		TokenType:     c.Idtyp,
		ActorFacets:   c.ActFct,
		SubjectFacets: c.SubFct,
		Actors:        c.Act,
		Roles:         c.Roles,
		Audience:      c.Aud,
		TokenID:       firstNonEmpty(c.Jti, c.Uti),
		ExpiresAt:     time.Unix(c.Exp.sec, c.Exp.nsec).UTC(),
		claims:        payload,
	}
	switch {
	case c.Idtyp == "user":
		p.UserID = firstNonEmpty(c.Oid, c.Sub)
	case c.Idtyp == "" && len(c.Act) > 0:
		p.UserID = c.Sub
	}
	if p.UserID != "" {
		p.UserPrincipalName = firstNonEmpty(c.Upn, c.Username)
	}
	p.Scopes = c.Scp
	for _, s := range c.Scope {
		if !slices.Contains(p.Scopes, s) {
			p.Scopes = append(p.Scopes, s)
		}
	}
	if c.Iat.set {
		p.IssuedAt = time.Unix(c.Iat.sec, c.Iat.nsec).UTC()
	}
	return p
}

// deriveKind tells how the agent acts:
//
//   - xms_sub_fct contains 13 (agent user): AgentUser;
//   - else idtyp is "user", or an act claim is present (RFC 8693
//     delegation, from any server): Delegated;
//   - else xms_act_fct contains 11 (agent identity), or idtyp is "app"
//     with an xms_par_app_azp: Autonomous;
//   - else (a plain application or a plain user token): KindUnknown.
func deriveKind(c *claims) Kind {
	switch {
	case slices.Contains(c.SubFct, facetAgentUser):
		return AgentUser
	case c.Idtyp == "user" || len(c.Act) > 0:
		return Delegated
	case slices.Contains(c.ActFct, facetAgentIdentity) || (c.Idtyp == "app" && c.Parent != ""):
		return Autonomous
	}
	return KindUnknown
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// HasScope reports whether the token grants the delegated permission
// scope (in scp or scope). The comparison is exact.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// HasRole reports whether the token carries the app role role. The
// comparison is exact.
func (p *Principal) HasRole(role string) bool { return slices.Contains(p.Roles, role) }

// DelegationDepth returns the length of the RFC 8693 act chain: 0 for a
// token without act, 2 for a token exchanged twice.
func (p *Principal) DelegationDepth() int { return len(p.Actors) }

// Claim returns the claim name of the token as decoded by encoding/json
// into an any (a string, float64, bool, []any or map[string]any), and
// whether it is present. It decodes the claims on each call; the typed
// fields of Principal cost nothing.
func (p *Principal) Claim(name string) (any, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(p.claims), &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// ClaimString returns the claim name if it is present and a string.
func (p *Principal) ClaimString(name string) (string, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(p.claims), &m) != nil {
		return "", false
	}
	raw, ok := m[name]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// String describes p in one line: kind, agent, blueprint, user and
// delegation depth.
func (p Principal) String() string {
	var b strings.Builder
	b.WriteString("agentid.Principal{kind=")
	b.WriteString(p.Kind.String())
	write := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=" + strconv.Quote(v))
		}
	}
	write("agent", p.AgentID)
	write("blueprint", p.BlueprintID)
	write("user", p.UserID)
	write("sub", p.Subject)
	write("tid", p.TenantID)
	if n := len(p.Actors); n > 0 {
		b.WriteString(" depth=" + strconv.Itoa(n))
	}
	b.WriteString("}")
	return b.String()
}

// GoString returns String, for %#v.
func (p Principal) GoString() string { return p.String() }

// LogValue implements [slog.LogValuer]: the identity attributes of p.
func (p Principal) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("kind", p.Kind.String()),
		slog.String("agent_id", p.AgentID),
	}
	if p.BlueprintID != "" {
		attrs = append(attrs, slog.String("blueprint_id", p.BlueprintID))
	}
	if p.UserID != "" {
		attrs = append(attrs, slog.String("user_id", p.UserID))
	}
	if p.TenantID != "" {
		attrs = append(attrs, slog.String("tenant_id", p.TenantID))
	}
	attrs = append(attrs, slog.Int("delegation_depth", len(p.Actors)))
	return slog.GroupValue(attrs...)
}
