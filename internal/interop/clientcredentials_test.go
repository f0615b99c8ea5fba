package interop_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/agentpassport/passport/credentials"
)

// TestClientCredentials gets app-only tokens for the example storage's
// service user with its client secret, checks them at the provider's
// userinfo endpoint, and checks that a second call is served from the
// cache.
func TestClientCredentials(t *testing.T) {
	p := startProvider(t)
	tests := []struct {
		name    string
		secret  string
		req     credentials.Request
		wantErr *credentials.TokenError // the provider's refusal: status and error code
		want    map[string]any          // the provider's userinfo for the token
	}{
		{
			name:   "openid",
			secret: serviceSecret,
			req:    credentials.Request{Scopes: []string{"openid"}},
			want:   map[string]any{"sub": serviceID},
		},
		{
			// The example storage records no application for
			// client_credentials tokens, so its custom claim names no client.
			name:   "custom scope",
			secret: serviceSecret,
			req:    credentials.Request{Scopes: []string{storage.CustomScope, "openid"}},
			want: map[string]any{
				"sub":               serviceID,
				storage.CustomClaim: map[string]any{"client": "", "other": "stuff"},
			},
		},
		{
			name:    "wrong secret",
			secret:  "not-" + serviceSecret,
			req:     credentials.Request{Scopes: []string{"openid"}},
			wantErr: &credentials.TokenError{StatusCode: http.StatusUnauthorized, Code: "invalid_client"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, p, serviceID, tt.secret)
			before := len(p.tokenRequests())

			tok, err := c.Token(t.Context(), tt.req)
			wantPosts := []post{{Path: p.tokenPath, Client: serviceID, Form: url.Values{
				"grant_type": {string(oidc.GrantTypeClientCredentials)},
				"scope":      {strings.Join(tt.req.Scopes, " ")},
			}}}
			if tt.wantErr != nil {
				var te *credentials.TokenError
				if !errors.As(err, &te) {
					t.Fatalf("Token() error = %v, want a *TokenError", err)
				}
				if diff := cmp.Diff(*tt.wantErr, credentials.TokenError{StatusCode: te.StatusCode, Code: te.Code}); diff != "" {
					t.Errorf("Token() error mismatch (-want +got):\n%s", diff)
				}
				// Refused once, not retried.
				if diff := cmp.Diff(wantPosts, p.tokenRequests()[before:]); diff != "" {
					t.Errorf("token requests mismatch (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if got, want := tok.Type(), "Bearer"; got != want {
				t.Errorf("Token().Type() = %q, want %q", got, want)
			}
			if diff := cmp.Diff(tt.req.Scopes, tok.Scopes()); diff != "" {
				t.Errorf("Token().Scopes() mismatch (-want +got):\n%s", diff)
			}
			if d := time.Until(tok.ExpiresAt()); d <= 0 || d > 5*time.Minute {
				t.Errorf("Token() expires in %v, want within the example's 5 minutes", d)
			}
			if diff := cmp.Diff(tt.want, p.userinfo(t, tok.AccessToken())); diff != "" {
				t.Errorf("userinfo mismatch (-want +got):\n%s", diff)
			}

			again, err := c.Token(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("second Token() error = %v", err)
			}
			if again != tok {
				t.Errorf("second Token() = a new token, want the cached one")
			}
			if diff := cmp.Diff(wantPosts, p.tokenRequests()[before:]); diff != "" {
				t.Errorf("token requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
