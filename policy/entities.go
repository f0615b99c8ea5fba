package policy

import (
	"context"

	"github.com/agentpassport/passport/agentid"
)

// FromPrincipal returns the subject of a call a resource received: the
// agent p names (its id, tenant, blueprint and kind), the user it acts
// for (when p has one), its scopes and its delegation chain (the
// subjects, else client ids, of p's actors, outermost first). Sponsors,
// risk levels, tags, groups, the source address and the session are not
// in a token: set them on the result, or with [WithEnricher].
//
// A nil p gives the zero Subject, which no engine decides.
func FromPrincipal(p *agentid.Principal) Subject {
	if p == nil {
		return Subject{}
	}
	s := Subject{
		Agent: Agent{
			ID:          p.AgentID,
			TenantID:    p.TenantID,
			BlueprintID: p.BlueprintID,
			Kind:        p.Kind,
		},
		Scopes: p.Scopes,
	}
	if p.UserID != "" {
		s.User = &User{ID: p.UserID}
	}
	if len(p.Actors) > 0 {
		s.Delegation = make([]string, len(p.Actors))
		for i, a := range p.Actors {
			s.Delegation[i] = a.Subject
			if s.Delegation[i] == "" {
				s.Delegation[i] = a.ClientID
			}
		}
	}
	return s
}

// FromIdentity returns the subject of an agent about to act: its own
// identity self, and user, the user it acts for, or nil when it acts as
// itself. The agent's kind is self.Kind, except that a user makes an
// autonomous (or unknown) agent [agentid.Delegated], as the token it
// would get for that user says.
func FromIdentity(self agentid.Identity, user *User) Subject {
	s := Subject{
		Agent: Agent{
			ID:          self.AgentID,
			TenantID:    self.TenantID,
			BlueprintID: self.BlueprintID,
			Kind:        self.Kind,
			Sponsors:    self.Sponsors,
		},
		User: user,
	}
	if user != nil && (self.Kind == agentid.Autonomous || self.Kind == agentid.KindUnknown) {
		s.Agent.Kind = agentid.Delegated
	}
	return s
}

// subjectKey is the context key of a Subject.
type subjectKey struct{}

// NewContext returns a copy of ctx that carries s: the subject that
// [Guard] and [TokenHook] decide for. [Middleware] calls it for the
// handler it protects; an agent calls it once per turn of a conversation
// with [FromIdentity].
func NewContext(ctx context.Context, s Subject) context.Context {
	return context.WithValue(ctx, subjectKey{}, &s)
}

// SubjectFromContext returns the subject [NewContext] put in ctx, and
// whether there is one.
func SubjectFromContext(ctx context.Context) (Subject, bool) {
	s, ok := ctx.Value(subjectKey{}).(*Subject)
	if !ok || s == nil {
		return Subject{}, false
	}
	return *s, true
}
