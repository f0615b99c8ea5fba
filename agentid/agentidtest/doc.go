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
// The token endpoint supports the client_credentials, refresh_token,
// user_fic, jwt-bearer (on-behalf-of) and RFC 8693 token-exchange grants.
// Clients authenticate with client_secret_basic, client_secret_post or
// private_key_jwt (a key, a certificate or a federated identity); see
// [Authority.RegisterClient]. Errors are answered as Entra answers them,
// with AADSTS codes in error_codes and in the description.
//
// # Agent identities
//
// [Authority.RegisterBlueprint] registers an agent identity blueprint and
// [Authority.RegisterAgent] its agent identities; [Authority.RegisterUser]
// and [Authority.RegisterAgentUser] register users, and
// [Authority.UserToken] mints the token a user's client sends to an
// agent. The flows of Microsoft Entra Agent ID then work as in Entra:
//
//   - autonomous: the blueprint sends client_credentials with
//     fmi_path={agent} for api://AzureADTokenExchange/.default and gets
//     T1; the agent sends client_credentials with T1 as client_assertion
//     and gets an agent token (a single-instance agent, whose id is the
//     blueprint's, skips the first leg);
//   - on behalf of a user: the agent, with T1, sends the jwt-bearer grant
//     with the user's token, whose aud is the blueprint, as assertion;
//   - as its agent user: the agent gets its own exchange token T2 (the
//     second leg for api://AzureADTokenExchange/.default), then sends
//     user_fic with T1 and T2, and gets access, ID and refresh tokens.
//
// The same server speaks RFC 8693: any client, agents included, may
// exchange a subject token of this server for one whose act claim names
// the actor, nesting the act chain of the subject token. Tokens carry
// Entra's agent claims (xms_par_app_azp, xms_act_fct, xms_sub_fct,
// xms_idrel). [Authority.BlockAgent], [Authority.DenyAgentByPolicy] and
// [Authority.RevokeRefreshTokens] make the grants fail as a disabled
// application, a Conditional Access policy or a revoked session do.
//
// # Tokens
//
// App tokens are JWTs with Entra's app-token claims (iss, aud, sub, oid,
// azp, appid, azpacr, tid, iat, nbf, exp, jti, idtyp, ver, and roles or
// scp when granted), signed with the current RS256 or ES256 key; agent
// and user tokens add the claims described above.
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
//
// # Registry
//
// [NewRegistry] (or [StartRegistry] in programs) is the agent registry's
// telemetry side: an OTLP/HTTP receiver for traces, in protobuf and
// JSON, on the plain route (/v1/traces, as an OpenTelemetry Collector)
// and on Microsoft Agent 365's route
// (/observability/tenants/{tenantId}/otlp/agents/{agentId}/traces). It
// keeps what arrived ([Registry.Spans], [Registry.Requests]) and can be
// taken down and brought back on the same address ([Registry.SetDown]),
// fail, throttle or answer with a partial success.
package agentidtest
