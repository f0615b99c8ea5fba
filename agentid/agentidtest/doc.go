// Package agentidtest provides a real OAuth 2.0 authorization server that
// runs in process, for tests, examples and quickstarts that must not need a
// cloud account. It is shaped like [net/http/httptest]: [NewAuthority]
// starts one for a test and closes it when the test ends.
//
// The [Authority] speaks real HTTP on a loopback address, signs real JWTs
// and publishes a real JWKS. Its endpoints have the shape of the Microsoft
// Entra ID v2 endpoints, and follow the standards as well (RFC 6749,
// RFC 7523, RFC 8414), so one server serves clients of either dialect.
//
//	a := agentidtest.NewAuthority(t)
//	if err := a.RegisterClient("orders-agent", agentidtest.WithSecret("s3cret")); err != nil {
//		t.Fatal(err)
//	}
//	resp, err := a.HTTPClient().PostForm(a.TokenURL(), url.Values{
//		"grant_type":    {"client_credentials"},
//		"client_id":     {"orders-agent"},
//		"client_secret": {"s3cret"},
//		"scope":         {"api://orders/.default"},
//	})
//
// # Routes
//
// For the default tenant T ([Authority.TenantID]) and every tenant added
// with [Authority.AddTenant]:
//
//	GET  /T/v2.0/.well-known/openid-configuration        OpenID Connect discovery
//	GET  /.well-known/oauth-authorization-server/T/v2.0  RFC 8414 metadata
//	GET  /T/discovery/v2.0/keys                          JWKS
//	POST /T/oauth2/v2.0/token                            token endpoint
//
// The token endpoint supports the client_credentials grant. Clients
// authenticate with client_secret_basic, client_secret_post or
// private_key_jwt (a key, a certificate or a federated identity); see
// [Authority.RegisterClient]. Errors are answered as Entra answers them,
// with AADSTS codes in error_codes and in the description.
//
// # Tokens
//
// Access tokens are JWTs with Entra's app-token claims (iss, aud, sub,
// oid, azp, appid, azpacr, tid, iat, nbf, exp, jti, idtyp, ver, and roles
// or scp when granted), signed with the current RS256 or ES256 key.
// [Authority.RotateKeys] and [Authority.RetireOldKeys] exercise key
// rollover; [Authority.IssueToken] signs arbitrary claims, for tokens a
// test needs or to act as another identity provider.
//
// # Fault injection
//
// [Authority.FailNext], [Authority.ThrottleNext] and [Authority.SetLatency]
// make the token endpoint fail, throttle or slow down;
// [Authority.Requests] and [Authority.TokenRequests] tell what it
// received. All are safe for concurrent use.
package agentidtest
