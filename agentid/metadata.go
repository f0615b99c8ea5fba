package agentid

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// WellKnownPrefix is the well-known URI suffix of protected resource
// metadata (RFC 9728 §3).
const WellKnownPrefix = "/.well-known/oauth-protected-resource"

// ProtectedResourceMetadata is the metadata of an OAuth protected
// resource (RFC 9728 §2): the document that tells a client, such as an
// MCP client, which authorization servers issue tokens for the resource
// and how to send them. It is an [http.Handler] that serves itself as
// JSON; mount it at [WellKnownPath] of the resource and announce its URL
// in challenges with [WithResourceMetadataURL].
//
//	md := agentid.ProtectedResourceMetadata{
//		Resource:             "https://api.example.com/orders",
//		AuthorizationServers: []string{issuer},
//		ScopesSupported:      []string{"api://orders/.default"},
//	}
//	mux.Handle(agentid.WellKnownPath(md.Resource), md)
//
// Fields left empty are left out of the document, except
// bearer_methods_supported, which defaults to ["header"], the only method
// [Middleware] accepts. A ProtectedResourceMetadata must not be modified
// while it serves; it is then safe for concurrent use.
type ProtectedResourceMetadata struct {
	// Resource is the resource identifier: the https URL of the resource,
	// without a fragment. Required.
	Resource string `json:"resource"`
	// AuthorizationServers are the issuer identifiers of the authorization
	// servers whose tokens the resource accepts.
	AuthorizationServers []string `json:"authorization_servers,omitempty"`
	// JWKSURI is the URL of the resource's own JWKS, for resources that
	// sign their responses. It is not the authorization server's JWKS.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// ScopesSupported are the scopes a client may request for the resource.
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// BearerMethodsSupported are the ways of sending a bearer token:
	// "header", "body", "query" (RFC 6750 §2). Default ["header"].
	BearerMethodsSupported []string `json:"bearer_methods_supported,omitempty"`
	// ResourceSigningAlgValuesSupported are the algorithms the resource
	// signs responses with.
	ResourceSigningAlgValuesSupported []string `json:"resource_signing_alg_values_supported,omitempty"`
	// ResourceName is a human-readable name of the resource.
	ResourceName string `json:"resource_name,omitempty"`
	// ResourceDocumentation is the URL of the resource's documentation for
	// developers.
	ResourceDocumentation string `json:"resource_documentation,omitempty"`
	// ResourcePolicyURI is the URL of the resource's data-use policy.
	ResourcePolicyURI string `json:"resource_policy_uri,omitempty"`
	// ResourceTOSURI is the URL of the resource's terms of service.
	ResourceTOSURI string `json:"resource_tos_uri,omitempty"`
	// TLSClientCertificateBoundAccessTokens says the resource supports
	// certificate-bound access tokens (RFC 8705).
	TLSClientCertificateBoundAccessTokens bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
	// AuthorizationDetailsTypesSupported are the authorization_details
	// types (RFC 9396) the resource supports.
	AuthorizationDetailsTypesSupported []string `json:"authorization_details_types_supported,omitempty"`
	// DPoPSigningAlgValuesSupported are the DPoP proof algorithms the
	// resource accepts (RFC 9449).
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
	// DPoPBoundAccessTokensRequired says the resource requires
	// DPoP-bound access tokens (RFC 9449).
	DPoPBoundAccessTokensRequired bool `json:"dpop_bound_access_tokens_required,omitempty"`
}

// ServeHTTP serves the metadata as application/json to GET and HEAD
// requests, cacheable for an hour (RFC 9728 §3.2); other methods get 405.
func (m ProtectedResourceMetadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if len(m.BearerMethodsSupported) == 0 {
		m.BearerMethodsSupported = []string{"header"}
	}
	body, err := json.Marshal(m)
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// WellKnownPath returns the path at which the metadata of resource is
// served (RFC 9728 §3.1): [WellKnownPrefix], followed by the path of
// resource when it has one other than "/". For
// "https://api.example.com/orders" it is
// "/.well-known/oauth-protected-resource/orders"; for
// "https://api.example.com" it is "/.well-known/oauth-protected-resource".
// A query component, which RFC 9728 discourages, is not part of the
// path. A resource that is not a valid URL gets [WellKnownPrefix].
func WellKnownPath(resource string) string {
	u, err := url.Parse(resource)
	if err != nil {
		return WellKnownPrefix
	}
	p := u.EscapedPath()
	if p == "" || p == "/" {
		return WellKnownPrefix
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return WellKnownPrefix + p
}
