package interop_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/agentpassport/passport/credentials"
)

// TestTokenExchange exchanges tokens the provider issued to users of its
// login form, with and without the service user's client_credentials
// token as actor_token, and checks the forms the provider received and
// the tokens it issued.
func TestTokenExchange(t *testing.T) {
	p := startProvider(t)
	adminAccess, _ := p.login(t, adminID, "openid")
	userAccess, userIDToken := p.login(t, userID, "openid")

	// The actor is the service user, with the client_credentials token
	// our Client gets for it.
	actorReq := credentials.Request{Scopes: []string{"openid"}}
	actor := credentials.SourceToken(newClient(t, p, serviceID, serviceSecret), actorReq, credentials.TokenTypeAccessToken)
	invalidActor := credentials.StaticToken("not-a-token-of-this-provider", credentials.TokenTypeAccessToken)

	// introspect asks the provider, as the api client, about an access
	// token exchanged for it.
	introspect := func(t *testing.T, tok *credentials.Token) map[string]any {
		return p.introspect(t, apiClientID, apiSecret, tok.AccessToken())
	}
	// verify checks an ID token against the provider's keys.
	verify := func(t *testing.T, tok *credentials.Token) map[string]any {
		return p.verify(t, tok.AccessToken())
	}

	tests := []struct {
		name       string
		subject    credentials.TokenRef
		actor      *credentials.TokenRef // nil: no actor_token
		opts       []credentials.ExchangeOption
		req        credentials.Request
		wantForm   url.Values // the form sent, subject_token and actor_token aside
		wantErr    *credentials.TokenError
		wantType   string // Token.Type, the response's token_type
		wantIssued string // Token.IssuedTokenType
		check      func(*testing.T, *credentials.Token) map[string]any
		want       map[string]any // what check returns, volatile claims aside
	}{
		{
			// Delegation: a user who may not be impersonated, with an
			// actor. The example storage skips its impersonation check
			// when an actor_token is present.
			name:    "delegation to an access token for an api",
			subject: credentials.StaticToken(userAccess, credentials.TokenTypeAccessToken),
			actor:   &actor,
			opts:    []credentials.ExchangeOption{credentials.WithAudience(apiClientID)},
			req:     credentials.Request{Scopes: []string{storage.CustomScope, "openid"}},
			wantForm: url.Values{
				"subject_token_type":   {string(oidc.AccessTokenType)},
				"actor_token_type":     {string(oidc.AccessTokenType)},
				"audience":             {apiClientID},
				"requested_token_type": {string(oidc.AccessTokenType)},
				"scope":                {storage.CustomScope + " openid"},
			},
			wantType:   "Bearer",
			wantIssued: credentials.TokenTypeAccessToken,
			check:      introspect,
			// The token is the user's, for the web client. Nothing in it
			// names the actor: see the ID token case.
			want: map[string]any{
				"active":            true,
				"sub":               userID,
				"client_id":         webClientID,
				"scope":             storage.CustomScope + " openid",
				storage.CustomClaim: map[string]any{"client": apiClientID, "other": "stuff"},
			},
		},
		{
			name:    "delegation of an ID token to an ID token",
			subject: credentials.StaticToken(userIDToken, credentials.TokenTypeIDToken),
			actor:   &actor,
			opts:    []credentials.ExchangeOption{credentials.WithRequestedTokenType(credentials.TokenTypeIDToken)},
			req:     credentials.Request{Scopes: []string{"openid"}},
			wantForm: url.Values{
				"subject_token_type":   {string(oidc.IDTokenType)},
				"actor_token_type":     {string(oidc.AccessTokenType)},
				"requested_token_type": {string(oidc.IDTokenType)},
				"scope":                {"openid"},
			},
			wantType:   "N_A",
			wantIssued: credentials.TokenTypeIDToken,
			check:      verify,
			// No act claim (RFC 8693 §4.1): the example storage sets one
			// only for impersonation by scope; its delegation branch is
			// commented out, and op's own exchange request does not
			// implement op.TokenActorRequest.
			want: map[string]any{
				"iss":       p.issuer,
				"sub":       userID,
				"aud":       []any{webClientID},
				"azp":       webClientID,
				"client_id": webClientID,
			},
		},
		{
			// Impersonation: no actor_token; the example storage allows it
			// for admin users only.
			name:    "impersonation of an admin",
			subject: credentials.StaticToken(adminAccess, credentials.TokenTypeAccessToken),
			opts:    []credentials.ExchangeOption{credentials.WithAudience(apiClientID)},
			req:     credentials.Request{Scopes: []string{"openid"}},
			wantForm: url.Values{
				"subject_token_type":   {string(oidc.AccessTokenType)},
				"audience":             {apiClientID},
				"requested_token_type": {string(oidc.AccessTokenType)},
				"scope":                {"openid"},
			},
			wantType:   "Bearer",
			wantIssued: credentials.TokenTypeAccessToken,
			check:      introspect,
			want: map[string]any{
				"active":    true,
				"sub":       adminID,
				"client_id": webClientID,
				"scope":     "openid",
			},
		},
		{
			// The example storage refuses with a plain error, which op
			// answers as server_error.
			name:    "impersonation of a non-admin is refused",
			subject: credentials.StaticToken(userAccess, credentials.TokenTypeAccessToken),
			opts:    []credentials.ExchangeOption{credentials.WithAudience(apiClientID)},
			req:     credentials.Request{Scopes: []string{"openid"}},
			wantForm: url.Values{
				"subject_token_type":   {string(oidc.AccessTokenType)},
				"audience":             {apiClientID},
				"requested_token_type": {string(oidc.AccessTokenType)},
				"scope":                {"openid"},
			},
			wantErr: &credentials.TokenError{StatusCode: http.StatusInternalServerError, Code: "server_error"},
		},
		{
			name:    "an actor token the provider did not issue is refused",
			subject: credentials.StaticToken(userAccess, credentials.TokenTypeAccessToken),
			actor:   &invalidActor,
			opts:    []credentials.ExchangeOption{credentials.WithAudience(apiClientID)},
			req:     credentials.Request{Scopes: []string{"openid"}},
			wantForm: url.Values{
				"subject_token_type":   {string(oidc.AccessTokenType)},
				"actor_token_type":     {string(oidc.AccessTokenType)},
				"audience":             {apiClientID},
				"requested_token_type": {string(oidc.AccessTokenType)},
				"scope":                {"openid"},
			},
			wantErr: &credentials.TokenError{StatusCode: http.StatusBadRequest, Code: "invalid_request"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One attempt: the provider answers its storage's refusals
			// with server_error, which would otherwise be retried.
			c := newClient(t, p, webClientID, webSecret, credentials.WithRetry(1, time.Minute))
			opts := slices.Clone(tt.opts)
			if tt.actor != nil {
				opts = append(opts, credentials.WithActor(*tt.actor))
			}
			x, err := credentials.NewTokenExchange(c, tt.subject, opts...)
			if err != nil {
				t.Fatal(err)
			}
			before := len(p.tokenRequests())

			tok, err := x.Token(t.Context(), tt.req)

			wantPosts := []post{{Path: p.tokenPath, Client: webClientID, Form: exchangeForm(t, tt.subject, tt.actor, tt.wantForm)}}
			if tt.wantErr != nil {
				var te *credentials.TokenError
				if !errors.As(err, &te) {
					t.Fatalf("Token() error = %v, want a *TokenError", err)
				}
				got := credentials.TokenError{StatusCode: te.StatusCode, Code: te.Code}
				if diff := cmp.Diff(*tt.wantErr, got); diff != "" {
					t.Errorf("Token() error mismatch (-want +got):\n%s", diff)
				}
			} else {
				if err != nil {
					t.Fatalf("Token() error = %v", err)
				}
				if got := tok.Type(); got != tt.wantType {
					t.Errorf("Token().Type() = %q, want %q", got, tt.wantType)
				}
				if got := tok.IssuedTokenType(); got != tt.wantIssued {
					t.Errorf("Token().IssuedTokenType() = %q, want %q", got, tt.wantIssued)
				}
				if diff := cmp.Diff(tt.want, tt.check(t, tok), volatile); diff != "" {
					t.Errorf("issued token mismatch (-want +got):\n%s", diff)
				}
				again, err := x.Token(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("second Token() error = %v", err)
				}
				if again != tok {
					t.Errorf("second Token() = a new token, want the cached one")
				}
			}
			if diff := cmp.Diff(wantPosts, exchanges(p.tokenRequests()[before:])); diff != "" {
				t.Errorf("token exchange requests mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// exchangeForm is the form of a token exchange of subject by actor (nil:
// none), with the other parameters of extra.
func exchangeForm(t *testing.T, subject credentials.TokenRef, actor *credentials.TokenRef, extra url.Values) url.Values {
	t.Helper()
	form := url.Values{
		"grant_type":    {string(oidc.GrantTypeTokenExchange)},
		"subject_token": {resolve(t, subject)},
	}
	if actor != nil {
		form.Set("actor_token", resolve(t, *actor))
	}
	for k, v := range extra {
		form[k] = v
	}
	return form
}

// resolve returns the token ref names: its source's token is the cached
// one the exchange sent.
func resolve(t *testing.T, ref credentials.TokenRef) string {
	t.Helper()
	if ref.Source == nil {
		return ref.Static
	}
	tok, err := ref.Source.Token(t.Context(), ref.Request)
	if err != nil {
		t.Fatal(err)
	}
	return tok.AccessToken()
}

// exchanges keeps the token exchange requests of posts.
func exchanges(posts []post) []post {
	var out []post
	for _, q := range posts {
		if q.Form.Get("grant_type") == string(oidc.GrantTypeTokenExchange) {
			out = append(out, q)
		}
	}
	return out
}
