package credentials

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// AgentUser is a [Source] of tokens of an agent's own user account (Entra
// "agent user"), obtained by its [AgentIdentity] with the user_fic grant
// (DESIGN §3.2 item 7): the agent presents its blueprint's exchange token
// (T1) as client assertion and its own exchange token (T2) as the user's
// federated credential, naming the user by object id or by user principal
// name. When a refresh token comes back, later tokens are obtained with
// the refresh_token grant, falling back to user_fic if it is refused.
//
// Every AgentUser of one agent shares one cache, keyed by the user and
// bounded by [WithUserCacheSize]. Agent users exist only at Entra
// authorities.
type AgentUser struct {
	a    *AgentIdentity
	ref  string // "oid:…" or "upn:…"
	subj subject
}

var (
	_ Source      = (*AgentUser)(nil)
	_ Invalidator = (*AgentUser)(nil)
)

// AgentUser returns the agent's user account with object id userID.
func (a *AgentIdentity) AgentUser(userID string) *AgentUser {
	return a.agentUser("oid:" + userID)
}

// AgentUserByName returns the agent's user account with user principal
// name upn.
func (a *AgentIdentity) AgentUserByName(upn string) *AgentUser {
	return a.agentUser("upn:" + upn)
}

func (a *AgentIdentity) agentUser(ref string) *AgentUser {
	return &AgentUser{a: a, ref: ref, subj: subjectOf(ref)}
}

// Token returns a token of the agent user for req. See [Source].
func (u *AgentUser) Token(ctx context.Context, req Request) (*Token, error) {
	return u.a.users.get(ctx, &req, &u.subj, u.ref)
}

// Invalidate implements [Invalidator].
func (u *AgentUser) Invalidate(req Request, tok *Token) {
	u.a.users.invalidate(req, &u.subj, tok)
}

// String describes the agent user.
func (u *AgentUser) String() string {
	return fmt.Sprintf("credentials.AgentUser{AgentID: %s, User: %s}", u.a.AgentID(), u.ref)
}

// Format prints String for every verb.
func (u *AgentUser) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(u.String())) }

// userScopes are added to every agent-user request.
var userScopes = []string{"openid", "profile", "offline_access"}

// fetchUser gets an agent-user token: by refresh token when the entry
// has one, else by user_fic.
func (a *AgentIdentity) fetchUser(ctx context.Context, k *cacheKey, prev *tokenState, ref string) (*tokenState, error) {
	if a.c.dialect() != DialectEntra {
		return nil, fmt.Errorf("%w: agent users need an Entra authority", ErrInvalidRequest)
	}
	md, err := a.c.authority.resolve(ctx, a.c.res, k.tenant)
	if err != nil {
		return nil, err
	}
	scopes := k.scopes
	if len(scopes) == 0 && k.resource != "" {
		scopes = []string{strings.TrimRight(k.resource, "/") + "/.default"}
	}
	scope := strings.Join(withUserScopes(scopes), " ")
	if prev != nil && prev.refreshToken != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {prev.refreshToken}, "scope": {scope}}
		st, err := a.c.exchange(ctx, a.users, md, k.tenant, form, k.scopes, a.c.cred, a.c.clientID)
		if err == nil {
			if st.refreshToken == "" {
				st.refreshToken = prev.refreshToken
			}
			return st, nil
		}
		if !isInvalidGrant(err) {
			return nil, err
		}
		// The refresh token is dead: start over with user_fic.
	}
	t2Req := Request{Scopes: []string{md.exchangeAudience + "/.default"}, TenantID: k.tenant}
	t2, err := a.c.cache.get(ctx, &t2Req, &noSubject, "")
	if err != nil {
		return nil, fmt.Errorf("credentials: agent user: getting the agent's exchange token: %w", err)
	}
	form := url.Values{
		"grant_type":                         {"user_fic"},
		"user_federated_identity_credential": {t2.AccessToken()},
		"scope":                              {scope},
		"client_info":                        {"1"},
	}
	if id, ok := strings.CutPrefix(ref, "oid:"); ok {
		form.Set("user_id", id)
	} else {
		form.Set("username", strings.TrimPrefix(ref, "upn:"))
	}
	if k.claims != "" {
		form.Set("claims", k.claims)
	}
	return a.c.exchange(ctx, a.users, md, k.tenant, form, k.scopes, a.c.cred, a.c.clientID)
}

// withUserScopes adds openid, profile and offline_access to scopes.
func withUserScopes(scopes []string) []string {
	out := slices.Clone(scopes)
	for _, s := range userScopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
