package credentials_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

const (
	agentA = "aaaa0000-0000-4000-8000-00000000000a"
	agentB = "bbbb0000-0000-4000-8000-00000000000b"
)

// exchangeEnv is a generic (RFC 8693) setup: two agents as plain
// clients of an OIDC authority, and a user.
func exchangeEnv(t *testing.T) (*agentidtest.Authority, *credentials.Client, *credentials.Client, string) {
	a := agentidtest.NewAuthority(t)
	must(t, a.RegisterClient(agentA, agentidtest.WithSecret(testSecret)))
	must(t, a.RegisterClient(agentB, agentidtest.WithSecret(testSecret)))
	must(t, a.RegisterUser(userOID, userUPN))
	client := func(id string) *credentials.Client {
		c, err := credentials.NewClient(credentials.OIDC(a.Issuer()), id, credentials.ClientSecret(mustSecret(t, testSecret)))
		must(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	user, err := a.UserToken(userOID, "api://gateway", "orders.read")
	must(t, err)
	return a, client(agentA), client(agentB), user
}

func TestTokenExchangeDoubleExchangeNestsAct(t *testing.T) {
	a, ca, cb, user := exchangeEnv(t)
	ctx := context.Background()
	orders := credentials.Request{Scopes: []string{"api://orders/.default"}}

	// Agent A exchanges the user's token, acting with its own token.
	xa, err := credentials.NewTokenExchange(ca, credentials.StaticToken(user, ""),
		credentials.WithActor(credentials.SourceToken(ca, orders, credentials.TokenTypeJWT)))
	must(t, err)
	first, err := xa.Token(ctx, orders)
	must(t, err)
	// Agent B exchanges A's result, acting with its own token.
	xb, err := credentials.NewTokenExchange(cb, credentials.SourceToken(xa, orders, ""),
		credentials.WithActor(credentials.SourceToken(cb, orders, credentials.TokenTypeJWT)),
		credentials.WithAudience("api://orders"))
	must(t, err)
	second, err := xb.Token(ctx, orders)
	must(t, err)

	subOf := func(id string) any {
		tok, err := map[string]*credentials.Client{agentA: ca, agentB: cb}[id].Token(ctx, orders)
		must(t, err)
		return claimsOf(t, a, tok.AccessToken())["sub"]
	}
	c1 := claimsOf(t, a, first.AccessToken())
	if diff := cmp.Diff(map[string]any{"sub": subOf(agentA)}, c1["act"]); diff != "" || c1["sub"] != userOID {
		t.Errorf("first exchange: sub %v, act mismatch (-want +got):\n%s", c1["sub"], diff)
	}
	c2 := claimsOf(t, a, second.AccessToken())
	want := map[string]any{"sub": subOf(agentB), "act": map[string]any{"sub": subOf(agentA)}}
	if diff := cmp.Diff(want, c2["act"]); diff != "" || c2["sub"] != userOID {
		t.Errorf("double exchange: sub %v, act mismatch (-want +got):\n%s", c2["sub"], diff)
	}
	if got := second.IssuedTokenType(); got != credentials.TokenTypeAccessToken {
		t.Errorf("IssuedTokenType() = %q, want %q", got, credentials.TokenTypeAccessToken)
	}

	last := a.TokenRequests()[len(a.TokenRequests())-1]
	form := cloneValues(last.Form)
	form.Del("subject_token")
	form.Del("actor_token")
	wantForm := url.Values{
		"grant_type":           {grantExchange},
		"subject_token_type":   {credentials.TokenTypeAccessToken},
		"actor_token_type":     {credentials.TokenTypeJWT},
		"requested_token_type": {credentials.TokenTypeAccessToken},
		"audience":             {"api://orders"},
		"scope":                {"api://orders/.default"},
	}
	if diff := cmp.Diff(wantForm, form); diff != "" {
		t.Errorf("token-exchange form mismatch (-want +got):\n%s", diff)
	}
}

func TestTokenExchangeMayAct(t *testing.T) {
	a, ca, cb, _ := exchangeEnv(t)
	orders := credentials.Request{Scopes: []string{"api://orders/.default"}}
	own, err := ca.Token(context.Background(), orders)
	must(t, err)
	agentASub := claimsOf(t, a, own.AccessToken())["sub"]
	restricted, err := a.IssueToken(map[string]any{
		"iss": a.Issuer(), "sub": userOID, "aud": "api://gateway", "exp": 4102444800,
		"may_act": map[string]any{"sub": agentASub},
	})
	must(t, err)
	// B is not the permitted actor: refused locally, nothing sent.
	xb, err := credentials.NewTokenExchange(cb, credentials.StaticToken(restricted, ""),
		credentials.WithActor(credentials.SourceToken(cb, orders, credentials.TokenTypeJWT)))
	must(t, err)
	before := a.Requests(grantExchange)
	if _, err := xb.Token(context.Background(), orders); !errorsIs(err, credentials.ErrActorNotPermitted) {
		t.Errorf("exchange by a non-permitted actor = %v, want ErrActorNotPermitted", err)
	}
	if a.Requests(grantExchange) != before {
		t.Error("a refused exchange reached the authority")
	}
	// A is: the exchange goes through.
	xa, err := credentials.NewTokenExchange(ca, credentials.StaticToken(restricted, ""),
		credentials.WithActor(credentials.SourceToken(ca, orders, credentials.TokenTypeJWT)))
	must(t, err)
	if _, err := xa.Token(context.Background(), orders); err != nil {
		t.Errorf("exchange by the permitted actor: %v", err)
	}
}

func TestTokenExchangeServerRefusalNotRetried(t *testing.T) {
	a, ca, _, _ := exchangeEnv(t)
	x, err := credentials.NewTokenExchange(ca, credentials.StaticToken("not-a-token-of-this-server", ""))
	must(t, err)
	_, err = x.Token(context.Background(), credentials.Request{Scopes: []string{"api://orders/.default"}})
	var te *credentials.TokenError
	if !errorsAs(err, &te) || te.Code != "invalid_grant" {
		t.Fatalf("Token() = %v, want invalid_grant", err)
	}
	if got := a.Requests(grantExchange); got != 1 {
		t.Errorf("token-exchange requests = %d, want 1", got)
	}
}
