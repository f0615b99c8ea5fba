package agentidtest

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// grantRefreshToken is the grant_type of RFC 6749 §6.
const grantRefreshToken = "refresh_token"

// refreshToken answers a refresh request (RFC 6749 §6). The client
// authenticates as in the flow that got the refresh token (an agent with
// its blueprint's exchange token, T1) and presents refresh_token, which
// must be known, unexpired (24 hours), not revoked and issued to this
// client in this tenant (see refreshStore.redeem for the answers). The
// refresh token is rotated: the answer holds new access, ID and refresh
// tokens, and the one presented can no longer be redeemed.
//
// An optional scope replaces the resource scopes of the grant for the new
// access token and for the new refresh token (Entra refresh tokens are
// multi-resource); the OpenID Connect scopes stay those first granted. A
// bad scope is answered invalid_scope and does not consume the refresh
// token.
func (a *Authority) refreshToken(req *grantRequest) (*tokenResponse, *tokenError) {
	c, acr, te := a.authenticate(req)
	if te != nil {
		return nil, te
	}
	tok := req.form.Get("refresh_token")
	if tok == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'refresh_token'.")
	}
	var scopes *delegatedScopes
	if req.form.Has("scope") {
		ds, te := parseDelegatedScopes(req.form.Get("scope"))
		if te != nil {
			return nil, te
		}
		scopes = &ds
	}
	g, te := a.refresh.redeem(tok, c.id, req.tenant, req.now)
	if te != nil {
		return nil, te
	}
	ds := g.scopes
	if scopes != nil {
		ds = scopes.withOIDCOf(g.scopes)
	}
	u := a.lookupUser(g.userOID)
	if u == nil { // users are never removed; kept for safety
		return nil, invalidGrant(codeUserNotFound,
			"The user account '%s' does not exist in the directory '%s'.", g.userOID, req.tenant)
	}
	return a.issueUserTokens(req, c, a.agentOf(c), acr, u, ds)
}

// refreshLifetime is how long a refresh token can be redeemed after it is
// issued.
const refreshLifetime = 24 * time.Hour

// refreshState is where a refresh token is in its life.
type refreshState int

const (
	refreshActive  refreshState = iota // may be redeemed
	refreshRotated                     // redeemed once; a new token replaced it
	refreshRevoked                     // revoked by RevokeRefreshTokens
)

// refreshGrant is what the server remembers of a refresh token: the
// grant it continues. Its fields other than state are immutable.
type refreshGrant struct {
	clientID string          // the client it was issued to
	tenant   string          // the tenant it was issued in
	userOID  string          // the user it stands for
	scopes   delegatedScopes // the scopes granted
	expires  time.Time       // when it can no longer be redeemed
	state    refreshState    // guarded by refreshStore.mu
}

// refreshStore remembers every refresh token issued, by the SHA-256 of
// the token, until it expires.
type refreshStore struct {
	mu     sync.Mutex                 // guards grants and the state of each grant
	grants map[[32]byte]*refreshGrant // by SHA-256 of the token
}

// issue remembers g under a new random token and returns the token.
// Entries past their expiry are pruned first.
func (s *refreshStore) issue(g *refreshGrant, now time.Time) string {
	tok := rand.Text() + rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.grants {
		if !now.Before(old.expires) {
			delete(s.grants, k)
		}
	}
	if s.grants == nil {
		s.grants = make(map[[32]byte]*refreshGrant)
	}
	s.grants[sha256.Sum256([]byte(tok))] = g
	return tok
}

// redeem checks that tok may be redeemed by clientID in tenant at now and
// marks it rotated, so that it can be redeemed only once. It returns a
// copy of its grant. A refresh token that is unknown (AADSTS9002313),
// issued to another client or in another tenant (AADSTS70000), expired or
// already redeemed (AADSTS70008) or revoked (AADSTS50173) is answered
// invalid_grant; a refused token is not consumed.
func (s *refreshStore) redeem(tok, clientID, tenant string, now time.Time) (refreshGrant, *tokenError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[sha256.Sum256([]byte(tok))]
	switch {
	case g == nil:
		return refreshGrant{}, invalidGrant(codeGrantMalformed,
			"Invalid request. The refresh token is malformed or was not issued by this authority.")
	case g.clientID != clientID || g.tenant != tenant:
		return refreshGrant{}, invalidGrant(codeGrantInvalid,
			"The provided refresh token was not issued to client '%s' in tenant '%s'.", clientID, tenant)
	case g.state == refreshRevoked:
		return refreshGrant{}, invalidGrant(codeGrantRevoked,
			"The provided grant has been revoked. A fresh sign-in is needed.")
	case g.state == refreshRotated:
		return refreshGrant{}, invalidGrant(codeGrantExpired,
			"The provided refresh token has already been redeemed and was replaced by a new one.")
	case !now.Before(g.expires):
		return refreshGrant{}, invalidGrant(codeGrantExpired,
			"The provided refresh token has expired due to inactivity.")
	}
	g.state = refreshRotated
	return *g, nil
}

// revoke revokes every refresh token of the user with object id oid.
func (s *refreshStore) revoke(oid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.grants {
		if g.userOID == oid && g.state == refreshActive {
			g.state = refreshRevoked
		}
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far for the
// user or agent user with object id oid, as an administrator revoking a
// user's sessions does: redeeming one then fails with 400 invalid_grant,
// AADSTS50173. Refresh tokens issued afterwards are not affected. Access
// tokens already issued stay valid until they expire. It is safe for
// concurrent use.
func (a *Authority) RevokeRefreshTokens(oid string) {
	a.refresh.revoke(oid)
}
