package agentidtest_test

import (
	"net/http"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

// serverMetadata holds the discovery fields the tests compare.
type serverMetadata struct {
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

func TestDiscovery(t *testing.T) {
	a := agentidtest.NewAuthority(t,
		agentidtest.WithTenantID("home"),
		agentidtest.WithAuthMethods("private_key_jwt", "client_secret_basic"))
	a.AddTenant("other")
	want := func(tenant string) serverMetadata {
		return serverMetadata{
			Issuer:                            a.URL() + "/" + tenant + "/v2.0",
			AuthorizationEndpoint:             a.URL() + "/" + tenant + "/oauth2/v2.0/authorize",
			TokenEndpoint:                     a.URL() + "/" + tenant + "/oauth2/v2.0/token",
			JWKSURI:                           a.URL() + "/" + tenant + "/discovery/v2.0/keys",
			TokenEndpointAuthMethodsSupported: []string{"private_key_jwt", "client_secret_basic"},
			TokenEndpointAuthSigningAlgs:      []string{"RS256", "PS256", "ES256"},
			GrantTypesSupported: []string{
				"client_credentials",
				"refresh_token",
				"urn:ietf:params:oauth:grant-type:jwt-bearer",
				"urn:ietf:params:oauth:grant-type:token-exchange",
				"user_fic",
			},
			ResponseTypesSupported:           []string{"code"},
			SubjectTypesSupported:            []string{"pairwise"},
			IDTokenSigningAlgValuesSupported: []string{"RS256", "ES256"},
		}
	}
	tests := []struct {
		name   string
		path   string
		tenant string
	}{
		{"OpenID Connect", "/home/v2.0/.well-known/openid-configuration", "home"},
		{"RFC 8414 path insertion", "/.well-known/oauth-authorization-server/home/v2.0", "home"},
		{"added tenant OpenID Connect", "/other/v2.0/.well-known/openid-configuration", "other"},
		{"added tenant RFC 8414", "/.well-known/oauth-authorization-server/other/v2.0", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got serverMetadata
			if status := getJSON(t, a.HTTPClient(), a.URL()+tt.path, &got); status != http.StatusOK {
				t.Fatalf("GET %s: status %d, want 200", tt.path, status)
			}
			if diff := cmp.Diff(want(tt.tenant), got); diff != "" {
				t.Errorf("GET %s mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestDiscoveryUnknownTenant(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	for _, path := range []string{
		"/nobody/v2.0/.well-known/openid-configuration",
		"/.well-known/oauth-authorization-server/nobody/v2.0",
		"/nobody/discovery/v2.0/keys",
	} {
		t.Run(path, func(t *testing.T) {
			var got tokenBody
			status := getJSON(t, a.HTTPClient(), a.URL()+path, &got)
			want := outcome{Status: http.StatusBadRequest, Error: "invalid_request", ErrorCodes: []int{90002}}
			if diff := cmp.Diff(want, outcome{status, got.Error, got.ErrorCodes}); diff != "" {
				t.Errorf("GET %s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}
