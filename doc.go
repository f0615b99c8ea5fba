// Package passport gives an AI agent a first-class identity.
//
// Passport is made of parts that are each usable alone:
//
//   - [github.com/agentpassport/passport/credentials]: tokens for the agent,
//     with a cache that is correct by construction (single flight per key,
//     proactive refresh, never an expired token) and adapters for
//     golang.org/x/oauth2, net/http and gRPC.
//   - [github.com/agentpassport/passport/agentid]: the identity model of an
//     agent and of the callers that reach it.
//   - [github.com/agentpassport/passport/agentid/agentidtest]: a real,
//     in-process OAuth 2.0 authority over HTTP for tests, examples and
//     local development, with fault injection.
//   - [github.com/agentpassport/passport/policy]: local policy decisions
//     before an agent acts.
//   - [github.com/agentpassport/passport/audit]: agent activity as
//     OpenTelemetry spans, reported to an agent registry.
//
// The model is Microsoft Entra Agent ID (agent identity blueprints, agent
// identities, agent users), made portable: Passport speaks Entra's wire
// protocol and the open standards (OAuth 2.0, RFC 7523, RFC 8693, RFC 8707,
// RFC 9728), so it works with any compliant authorization server.
//
// # Getting a token
//
//	authority := credentials.Entra(tenantID)
//	secret, err := credentials.NewSecret(os.Getenv("AZURE_CLIENT_SECRET"))
//	...
//	client, err := credentials.NewClient(authority, clientID, credentials.ClientSecret(secret))
//	...
//	defer client.Close()
//	tok, err := client.Token(ctx, credentials.Request{Scopes: []string{"api://orders/.default"}})
//
// The one-import facade that ties the parts together comes in a later
// version of this package; until then each part is imported on its own.
package passport
