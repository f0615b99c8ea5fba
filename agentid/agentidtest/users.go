package agentidtest

import (
	"errors"
	"fmt"
	"strings"
)

// userTokenClient is the azp of the tokens [Authority.UserToken] mints:
// some client application the user signed in to.
const userTokenClient = "00000000-0000-0000-0000-0000000000c1"

// user is a registered user of the tenant, human or agent user. It is
// immutable once registered.
type user struct {
	objectID string // the user's object id, oid and sub of its tokens
	upn      string // the user principal name, as registered
	agent    string // for an agent user, the app id of its agent; else ""
}

// RegisterUser registers a human user of the tenant, with object id oid
// and user principal name upn (such as alice@contoso.example), so that
// [Authority.UserToken] can mint tokens for the user and agents can get
// tokens on the user's behalf (the jwt-bearer and token exchange grants).
// Users are shared by all tenants. It returns an error if oid or upn is
// empty, or if either is already registered, UPNs being compared without
// regard to case. It is safe for concurrent use.
func (a *Authority) RegisterUser(oid, upn string) error {
	return a.addUser(&user{objectID: oid, upn: upn})
}

// RegisterAgentUser registers the agent user of the agent identity
// agentID: the agent's own user account, with object id oid and user
// principal name upn. The agent gets tokens as this user with the user_fic
// grant. An agent has at most one agent user. RegisterAgentUser returns an
// error if an argument is empty, if agentID is not a registered agent, if
// the agent already has an agent user, or if oid or upn is already
// registered (see [Authority.RegisterUser]). It is safe for concurrent
// use.
func (a *Authority) RegisterAgentUser(agentID, oid, upn string) error {
	if agentID == "" {
		return errors.New("agentidtest: empty agent id")
	}
	return a.addUser(&user{objectID: oid, upn: upn, agent: agentID})
}

// addUser registers u after checking it.
func (a *Authority) addUser(u *user) error {
	var errs []error
	if u.objectID == "" {
		errs = append(errs, errors.New("agentidtest: empty user object id"))
	}
	if u.upn == "" {
		errs = append(errs, errors.New("agentidtest: empty user principal name"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	key := canonicalUPN(u.upn)

	a.mu.Lock()
	defer a.mu.Unlock()
	d := &a.dir
	switch {
	case u.agent != "" && d.agents[u.agent] == nil:
		return fmt.Errorf("agentidtest: %q is not a registered agent", u.agent)
	case u.agent != "" && d.agentUsers[u.agent] != nil:
		return fmt.Errorf("agentidtest: agent %q already has an agent user", u.agent)
	case d.users[u.objectID] != nil:
		return fmt.Errorf("agentidtest: user %q is already registered", u.objectID)
	case d.upns[key] != nil:
		return fmt.Errorf("agentidtest: user principal name %q is already registered", u.upn)
	}
	if d.users == nil {
		d.users = make(map[string]*user)
		d.upns = make(map[string]*user)
		d.agentUsers = make(map[string]*user)
	}
	d.users[u.objectID] = u
	d.upns[key] = u
	if u.agent != "" {
		d.agentUsers[u.agent] = u
	}
	return nil
}

// canonicalUPN returns the form of a UPN that lookups compare.
func canonicalUPN(upn string) string { return strings.ToLower(upn) }

// lookupUser returns the registered user with object id oid, or nil.
func (a *Authority) lookupUser(oid string) *user {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dir.users[oid]
}

// lookupUserByUPN returns the registered user with user principal name
// upn, compared without regard to case, or nil.
func (a *Authority) lookupUserByUPN(upn string) *user {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.dir.upns[canonicalUPN(upn)]
}

// UserToken mints the access token a client application of the user with
// object id oid would send to an agent, for the OBO grants: signed by the
// Authority with its current key, with iss [Authority.Issuer], aud
// audience, idtyp "user", oid and sub the user's object id, upn, scp the
// scopes joined by spaces (left out when there are none), tid
// [Authority.TenantID], iat, nbf and exp (now by the clock of [WithClock],
// plus the lifetime of [WithTokenLifetime]), a random jti, ver "2.0" and
// azp "00000000-0000-0000-0000-0000000000c1" (some client). For the Entra
// jwt-bearer grant, audience must be the agent's blueprint id or
// "api://"+ that id. UserToken returns an error if no user or agent user
// with object id oid is registered. It is safe for concurrent use.
func (a *Authority) UserToken(oid, audience string, scopes ...string) (string, error) {
	u := a.lookupUser(oid)
	if u == nil {
		return "", fmt.Errorf("agentidtest: UserToken: no user with object id %q", oid)
	}
	return a.sign(a.userTokenClaims(u, audience, scopes))
}
