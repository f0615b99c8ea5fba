// Package agentid holds the identity model of an AI agent, and the
// resource side of agent identity: verifying the tokens agents send, and
// knowing who is calling.
//
// The model follows Microsoft Entra Agent ID. An agent identity blueprint
// is an application that agent identities are created from; an agent
// identity acts either on its own ([Autonomous]), on behalf of the user it
// serves ([Delegated]), or as its own user account ([AgentUser]). Each
// agent has human sponsors who answer for it. [Identity] describes an
// agent from its own side.
//
// # Verifying tokens
//
// A [Verifier] verifies the JWT access tokens one issuer gives for one
// resource, with the issuer's keys (its JWKS, found by OpenID Connect
// discovery and kept fresh by a jwx jwk.Cache), and returns the caller as
// a [Principal]: the agent's application id, the blueprint it was created
// from (informational only: never authorize on it), how it acts ([Kind]),
// the user it acts for, the RFC 8693 delegation chain, its scopes and app
// roles. A rejected token gets a [*VerifyError] whose [Check] names the
// failed check.
//
// The Verifier does what a plain JOSE library does not: the header alg
// must be in an allowlist that never holds "none" or HMAC and must be the
// algorithm of the key the kid names; keys come from the issuer's JWKS
// alone, never from jku, x5u, jwk or x5c headers; crit, b64 and nested
// tokens are refused; exp is required; size and base64url are strict; an
// unknown kid refreshes the JWKS at most once per interval. See
// [Verifier] for every check, in order.
//
// The kind of agent is derived from the claims Entra issues to agents
// (the facets xms_act_fct and xms_sub_fct, sets of integers) and from
// RFC 8693: an xms_sub_fct with 13 (agent user) makes an [AgentUser];
// else an idtyp of "user", or an act claim, makes a [Delegated] agent;
// else an xms_act_fct with 11 (agent identity), or an idtyp of "app" with
// a blueprint, makes an [Autonomous] agent; anything else, a plain
// application or user token, is [KindUnknown].
//
// # Middleware
//
// [Middleware] protects an HTTP handler: it takes the bearer token from
// the Authorization header (never from the query or a form), verifies
// it, and puts the Principal in the request context ([FromContext]); it
// answers failures with RFC 6750 challenges that point to the resource's
// RFC 9728 metadata, which [ProtectedResourceMetadata] serves at
// [WellKnownPath]. [RequireScopes] and [RequireRoles] answer 403
// insufficient_scope to callers without the permissions a handler needs.
//
//	v, err := agentid.NewVerifier(ctx, "https://login.microsoftonline.com/"+tenant+"/v2.0",
//		agentid.WithAudience("api://orders"))
//	if err != nil {
//		return err
//	}
//	defer v.Close()
//
//	mux := http.NewServeMux()
//	md := agentid.ProtectedResourceMetadata{
//		Resource:             "https://orders.example.com",
//		AuthorizationServers: []string{v.Issuer()},
//	}
//	mux.Handle(agentid.WellKnownPath(md.Resource), md)
//	protect := agentid.Middleware(v, agentid.WithResourceMetadataURL(
//		"https://orders.example.com"+agentid.WellKnownPath(md.Resource)))
//	mux.Handle("/orders", protect(agentid.RequireRoles("Orders.Read")(
//		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//			p, _ := agentid.FromContext(r.Context())
//			fmt.Fprintf(w, "hello, agent %s (%s)\n", p.AgentID, p.Kind)
//		}))))
package agentid
