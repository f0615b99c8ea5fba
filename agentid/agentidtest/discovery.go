package agentidtest

import (
	"maps"
	"net/http"
	"slices"
)

// metadata is the authorization server metadata of one tenant: the OpenID
// Connect Discovery 1.0 §3 document, which is also valid RFC 8414 §2
// metadata.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
}

// assertionAlgs are the algorithms accepted for client assertions, in the
// order advertised.
var assertionAlgs = []string{"RS256", "PS256", "ES256"}

// handleMetadata serves the metadata of the tenant in the path, both at
// /{tenant}/v2.0/.well-known/openid-configuration (as Entra does) and at
// /.well-known/oauth-authorization-server/{tenant}/v2.0 (RFC 8414 §3.1,
// the well-known segment inserted before the issuer's path).
func (a *Authority) handleMetadata(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !a.knownTenant(tenant) {
		a.writeError(w, r, tenantNotFound(tenant))
		return
	}
	writeJSON(w, http.StatusOK, metadata{
		Issuer:                            a.IssuerFor(tenant),
		AuthorizationEndpoint:             a.URL() + "/" + tenant + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     a.tokenURLFor(tenant),
		JWKSURI:                           a.jwksURLFor(tenant),
		TokenEndpointAuthMethodsSupported: slices.Clone(a.cfg.authMethods),
		TokenEndpointAuthSigningAlgs:      assertionAlgs,
		GrantTypesSupported:               slices.Sorted(maps.Keys(grants)),
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{algRS256, algES256},
	})
}

// handleJWKS serves the JWKS (RFC 7517 §5) of the tenant in the path:
// every published public key, each with kid, alg and use "sig". All
// tenants share one set of keys.
func (a *Authority) handleJWKS(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	if !a.knownTenant(tenant) {
		a.writeError(w, r, tenantNotFound(tenant))
		return
	}
	doc := a.keys.document()
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}

// tenantNotFound is the answer for a tenant the server does not know.
func tenantNotFound(tenant string) *tokenError {
	return invalidRequest(codeTenantNotFound,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
}
