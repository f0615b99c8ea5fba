// Package credentials gets OAuth 2.0 access tokens for an agent and caches
// them correctly.
//
// A [Source] gives tokens: Token(ctx, [Request]) returns a [*Token] for
// the scopes (and optional RFC 8707 resource, claims challenge or tenant)
// asked for. [Client] is the confidential client that gets app-only tokens
// with the client_credentials grant, authenticated by a [ClientCredential]:
// a [ClientSecret], a private key or certificate ([PrivateKey],
// [Certificate]: RFC 7523 private_key_jwt), or a federated assertion
// ([AssertionFile], [AssertionFunc]). It talks to an [Authority]: Microsoft
// Entra ID ([Entra], in any cloud), any OpenID Connect or RFC 8414 server
// ([OIDC]), or static [Endpoints].
//
// # The cache
//
// Every Source in this package caches its tokens, keyed by everything
// that makes two tokens different (the authority, tenant, client and
// flow, the set of scopes, the resource and the claims); two requests
// that differ in any of these never share a token. A cache hit takes no
// lock and allocates nothing. A token stops being served five minutes
// before it expires (see [WithExpirySkew]), judged by the wall clock so
// that a suspended machine never serves an expired token; before that, at
// the server's refresh_in or at a point of its lifetime, one background
// fetch renews it while every caller keeps getting the valid token. On a
// miss, however many callers arrive at once, one request is sent and its
// result shared. A failed fetch is retried with backoff within bounds
// ([WithRetry]), and a key whose fetch failed backs off before it tries
// again, so a failing authority sees no retry storm. The cache is bounded
// ([WithCacheSize]) and may be shared between replicas through a [Store].
//
// # Adapters
//
// [TokenSource] adapts a Source to golang.org/x/oauth2, [NewTransport] to
// net/http and [NewPerRPCCredentials] to gRPC.
//
// # Secrets
//
// A [Secret], a [Token], every [ClientCredential] and every source redact
// themselves in every printed form (%v, %+v, %#v, %s, %x…), in log/slog
// and in JSON. Errors never include a request form or header.
//
// # Example
//
//	secret, err := credentials.NewSecret(os.Getenv("AZURE_CLIENT_SECRET"))
//	if err != nil {
//		return err
//	}
//	client, err := credentials.NewClient(credentials.Entra(tenantID), clientID,
//		credentials.ClientSecret(secret))
//	if err != nil {
//		return err
//	}
//	defer client.Close()
//	tok, err := client.Token(ctx, credentials.Request{Scopes: []string{"api://orders/.default"}})
package credentials
