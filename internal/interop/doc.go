// Package interop proves that the credentials package works against an
// authorization server it was not written with: the example OpenID
// Provider of github.com/zitadel/oidc/v3 (pkg/op with its example
// storage), run in-process on loopback.
//
// The tests use only the public API of
// github.com/agentpassport/passport/credentials, unchanged, and show
//
//   - a client_credentials token obtained with a client secret (RFC 6749
//     §4.4), checked at the provider's userinfo endpoint and served from
//     the cache on the second call;
//   - an OAuth 2.0 Token Exchange (RFC 8693) with subject_token and
//     actor_token, whose issued token is checked at the provider's
//     introspection endpoint (RFC 7662) or against its JWKS.
//
// The subject tokens are the ones the provider issues to the example's
// users through its own login form, in an authorization code flow run
// with golang.org/x/oauth2; the actor token is a client_credentials
// token obtained through the credentials package.
//
// # Why a separate module
//
// The provider and its dependencies (chi, go-jose, gorilla, OpenTelemetry,
// …) are test-only. This directory has its own go.mod, which replaces the
// root module with ../.., so none of them enters the root go.mod and the
// root module's "go build ./..." and "go test ./..." ignore this
// directory. Run it from here:
//
//	cd internal/interop && go test -race ./...
//
// .ci/run does so for every nested module.
package interop
