package policy

import (
	"context"
	"strings"

	"github.com/agentpassport/passport/agentid"
)

// TokenHook returns a function for the credentials package to call
// before it asks an authority for a token: it decides whether the agent
// self may acquire_token for the API, and returns a [*DeniedError]
// (matching [ErrDenied]) when it may not, or d's error when d cannot
// decide, so that the token request is never sent.
//
// Package policy does not import package credentials; adapt the hook in
// one line:
//
//	hook := policy.TokenHook(engine, self)
//	src, err := credentials.NewClient(authority, self.AgentID, cred,
//		credentials.WithPreAcquire(func(ctx context.Context, r credentials.Request) error {
//			return hook(ctx, r.Resource, r.Scopes)
//		}))
//
// The resource is Api::"<resource>", or, when resource is empty, the API
// the first scope names: the scope up to its last "/" when it is a URI
// ("api://orders/.default" names "api://orders"), else the scope. The
// scopes asked for are context.scopes.
//
// The principal is always self. When the context carries a subject
// ([NewContext]) for self, it is used as it is; a subject for another
// agent (the caller a [Middleware] let in) lends its user, session and
// risk: self acts for that user.
func TokenHook(d Decider, self agentid.Identity) func(ctx context.Context, resource string, scopes []string) error {
	return func(ctx context.Context, resource string, scopes []string) error {
		s := FromIdentity(self, nil)
		if cs, ok := SubjectFromContext(ctx); ok {
			if cs.Agent.ID == self.AgentID {
				s = cs
			} else {
				s = FromIdentity(self, cs.User)
				s.Session, s.Risk = cs.Session, cs.Risk
			}
		}
		s.Scopes = scopes
		api := API(resourceOf(resource, scopes))
		dec, err := d.Decide(ctx, Request{Subject: s, Action: AcquireToken, Resource: api})
		if err != nil {
			return err
		}
		if !dec.Allow {
			return &DeniedError{Action: AcquireToken, Resource: api, Decision: dec}
		}
		return nil
	}
}

// resourceOf names the API a token request is for.
func resourceOf(resource string, scopes []string) string {
	if resource != "" || len(scopes) == 0 {
		return resource
	}
	s := scopes[0]
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.LastIndexByte(s, '/'); j > i+2 {
			return s[:j]
		}
	}
	return s
}
