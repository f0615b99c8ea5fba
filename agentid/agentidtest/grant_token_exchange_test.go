package agentidtest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

// Token types of RFC 8693 §3.
const (
	accessTokenType = "urn:ietf:params:oauth:token-type:access_token"
	jwtTokenType    = "urn:ietf:params:oauth:token-type:jwt"
	idTokenType     = "urn:ietf:params:oauth:token-type:id_token"
)

// exchangeForm is a token exchange request of a client with a secret,
// with the given parameters added.
func exchangeForm(clientID, secret, subject string, kv ...string) url.Values {
	f := url.Values{
		"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"client_id":          {clientID},
		"client_secret":      {secret},
		"subject_token":      {subject},
		"subject_token_type": {accessTokenType},
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
		} else {
			f.Add(kv[i], kv[i+1])
		}
	}
	return f
}

// exchangeWorld is a world with two plain clients, app-a and app-b, that
// exchange tokens.
func exchangeWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	mustRegister(t, w.a, "app-a", agentidtest.WithSecret("a-secret"))
	mustRegister(t, w.a, "app-b", agentidtest.WithSecret("b-secret"))
	return w
}

func TestTokenExchangeClaims(t *testing.T) {
	w := exchangeWorld(t)
	user := w.userToken(t, "app-a", "Orders.Read")
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	agentSelf := w.mustToken(t, agentForm(agentID, t1, "api://orders/.default")).AccessToken
	agentForm := exchangeForm(agentID, "", user, "actor_token", agentSelf, "actor_token_type", jwtTokenType,
		"audience", "api://orders", "client_secret", "")
	agentForm.Set("client_assertion_type", jwtBearer)
	agentForm.Set("client_assertion", t1)
	bare := w.issue(t, map[string]any{"iss": w.a.Issuer(), "sub": "pairwise-sub", "aud": "app-a", "exp": w.clock.Now().Add(time.Hour).Unix()})

	exchanged := func(changes map[string]any) map[string]any {
		return with(map[string]any{
			"iss": w.a.Issuer(), "aud": "api://orders", "tid": homeTenant, "ver": "2.0",
			"sub": userOID, "oid": userOID, "upn": userUPN, "idtyp": "user",
			"scope": "Orders.Read", "scp": "Orders.Read", "client_id": "app-a",
			"act": map[string]any{"sub": "app-a"},
		}, changes)
	}
	tests := []struct {
		name       string
		form       url.Values
		wantType   string
		wantIssued string
		want       map[string]any
	}{
		{"audience and scope", exchangeForm("app-a", "a-secret", user, "audience", "api://orders", "scope", "Orders.Read"),
			"Bearer", accessTokenType, exchanged(nil)},
		{"jwt for a resource", exchangeForm("app-a", "a-secret", user, "resource", "https://orders.example/api",
			"requested_token_type", jwtTokenType),
			"N_A", jwtTokenType, exchanged(map[string]any{"aud": "https://orders.example/api", "scope": nil, "scp": nil})},
		{"no target: the client", exchangeForm("app-a", "a-secret", user),
			"Bearer", accessTokenType, exchanged(map[string]any{"aud": "app-a", "scope": nil, "scp": nil})},
		{"several targets: the first audience", exchangeForm("app-a", "a-secret", user,
			"audience", "api://first", "audience", "api://second", "resource", "https://third.example"),
			"Bearer", accessTokenType, exchanged(map[string]any{"aud": "api://first", "scope": nil, "scp": nil})},
		{"agent with T1 and its own token as actor", agentForm, "Bearer", accessTokenType,
			exchanged(map[string]any{"client_id": agentID, "act": map[string]any{"sub": agentOID}, "scope": nil, "scp": nil})},
		{"id_token with only sub", exchangeForm("app-a", "a-secret", bare, "subject_token_type", "",
			"subject_token_type", idTokenType, "audience", "api://orders"),
			"Bearer", accessTokenType, map[string]any{
				"iss": w.a.Issuer(), "aud": "api://orders", "tid": homeTenant, "ver": "2.0", "sub": "pairwise-sub",
				"client_id": "app-a", "act": map[string]any{"sub": "app-a"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := w.mustToken(t, tt.form)
			if body.TokenType != tt.wantType || body.IssuedTokenType != tt.wantIssued || body.Scope != tt.form.Get("scope") {
				t.Errorf("token_type, issued_token_type, scope = %q, %q, %q, want %q, %q, %q",
					body.TokenType, body.IssuedTokenType, body.Scope, tt.wantType, tt.wantIssued, tt.form.Get("scope"))
			}
			if diff := cmp.Diff(tt.want, claimsOf(t, w.a, body.AccessToken, accessVolatile...)); diff != "" {
				t.Errorf("exchanged token claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenExchangeNestsAct(t *testing.T) {
	w := exchangeWorld(t)
	user := w.userToken(t, "app-a")
	first := w.mustToken(t, exchangeForm("app-a", "a-secret", user, "audience", "app-b")).AccessToken
	second := w.mustToken(t, exchangeForm("app-b", "b-secret", first, "audience", "api://orders")).AccessToken
	third := w.mustToken(t, exchangeForm("app-a", "a-secret", second, "audience", "api://billing")).AccessToken

	tests := []struct {
		name string
		tok  string
		want map[string]any
	}{
		{"one exchange", first, map[string]any{"sub": "app-a"}},
		{"two exchanges", second, map[string]any{"sub": "app-b", "act": map[string]any{"sub": "app-a"}}},
		{"three exchanges", third, map[string]any{"sub": "app-a", "act": map[string]any{"sub": "app-b", "act": map[string]any{"sub": "app-a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := claimsOf(t, w.a, tt.tok, accessVolatile...)
			got := map[string]any{"sub": claims["sub"], "act": claims["act"]}
			want := map[string]any{"sub": userOID, "act": tt.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("act chain mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenExchangeMayAct(t *testing.T) {
	w := exchangeWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	agentSelf := w.mustToken(t, agentForm(agentID, t1, "api://orders/.default")).AccessToken
	subject := func(mayAct map[string]any) string {
		return w.issue(t, map[string]any{
			"iss": w.a.Issuer(), "sub": userOID, "aud": "app-a", "idtyp": "user",
			"exp": w.clock.Now().Add(time.Hour).Unix(), "may_act": mayAct,
		})
	}
	byAgent := func(subject string) url.Values {
		f := exchangeForm(agentID, "", subject, "client_secret", "", "actor_token", agentSelf, "actor_token_type", accessTokenType)
		f.Set("client_assertion_type", jwtBearer)
		f.Set("client_assertion", t1)
		return f
	}
	denied := outcome{http.StatusBadRequest, "invalid_grant", []int{50013}}
	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"client is may_act.sub", exchangeForm("app-a", "a-secret", subject(map[string]any{"sub": "app-a"})), ok},
		{"client is not may_act.sub", exchangeForm("app-b", "b-secret", subject(map[string]any{"sub": "app-a"})), denied},
		{"actor token sub is may_act.sub", byAgent(subject(map[string]any{"sub": agentOID})), ok},
		{"actor token sub and client_id match", byAgent(subject(map[string]any{"sub": agentOID, "client_id": agentID})), ok},
		{"actor token sub is not may_act.sub", exchangeForm("app-a", "a-secret", subject(map[string]any{"sub": "app-a"}),
			"actor_token", agentSelf, "actor_token_type", accessTokenType), denied},
		{"client is not may_act.client_id", byAgent(subject(map[string]any{"sub": agentOID, "client_id": "app-b"})), denied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token exchange mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
			if tt.want.Error == "invalid_grant" && !strings.Contains(r.body.ErrorDescription, "actor not permitted by may_act") {
				t.Errorf("error_description = %q, want it to say %q", r.body.ErrorDescription, "actor not permitted by may_act")
			}
		})
	}
}

func TestTokenExchangeRefused(t *testing.T) {
	w := exchangeWorld(t)
	rogue := agentidtest.NewAuthority(t, agentidtest.WithTenantID(homeTenant))
	user := w.userToken(t, "app-a")
	forged, err := rogue.IssueToken(map[string]any{"iss": w.a.Issuer(), "sub": userOID, "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	expired := w.issue(t, map[string]any{"iss": w.a.Issuer(), "sub": userOID, "exp": w.clock.Now().Add(-time.Second).Unix()})
	badAct := w.issue(t, map[string]any{"iss": w.a.Issuer(), "sub": userOID, "act": "app-a", "exp": w.clock.Now().Add(time.Hour).Unix()})
	noSub := w.issue(t, map[string]any{"iss": w.a.Issuer(), "exp": w.clock.Now().Add(time.Hour).Unix()})
	ex := func(kv ...string) url.Values { return exchangeForm("app-a", "a-secret", user, kv...) }
	emptyAudience := ex("audience", "api://x")
	emptyAudience["audience"] = append(emptyAudience["audience"], "")
	invalidRequest := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_request", []int{code}} }
	invalidGrant := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_grant", []int{code}} }
	invalidTarget := outcome{http.StatusBadRequest, "invalid_target", []int{9010010}}
	tests := []struct {
		name     string
		form     url.Values
		want     outcome
		wantDesc string
	}{
		{"no subject_token", ex("subject_token", ""), invalidRequest(900144), ""},
		{"no subject_token_type", ex("subject_token_type", ""), invalidRequest(900144), ""},
		{"unsupported subject_token_type", ex("subject_token_type", "", "subject_token_type", "urn:ietf:params:oauth:token-type:saml2"),
			invalidRequest(90023), "unsupported subject_token_type"},
		{"actor_token without actor_token_type", ex("actor_token", user), invalidRequest(900144), "actor_token_type"},
		{"actor_token_type without actor_token", ex("actor_token_type", jwtTokenType), invalidRequest(90023), ""},
		{"unsupported actor_token_type", ex("actor_token", user, "actor_token_type", "urn:x"), invalidRequest(90023), "unsupported actor_token_type"},
		{"unsupported requested_token_type", ex("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
			invalidRequest(90023), "unsupported requested_token_type"},
		{"subject_token signed by another authority", exchangeForm("app-a", "a-secret", forged), invalidGrant(50013), "subject_token"},
		{"expired subject_token", exchangeForm("app-a", "a-secret", expired), invalidGrant(500133), "subject_token"},
		{"subject_token not a JWT", exchangeForm("app-a", "a-secret", "garbage"), invalidGrant(50013), "subject_token"},
		{"subject_token with a malformed act", exchangeForm("app-a", "a-secret", badAct), invalidGrant(50013), "subject_token"},
		{"subject_token without sub", exchangeForm("app-a", "a-secret", noSub), invalidGrant(50013), "subject_token"},
		{"bad actor_token", ex("actor_token", forged, "actor_token_type", jwtTokenType), invalidGrant(50013), "actor_token"},
		{"expired actor_token", ex("actor_token", expired, "actor_token_type", jwtTokenType), invalidGrant(500133), "actor_token"},
		{"relative resource", ex("resource", "orders"), invalidTarget, ""},
		{"empty audience", emptyAudience, invalidTarget, ""},
		{"wrong client secret", exchangeForm("app-a", "nope", user), outcome{http.StatusBadRequest, "invalid_client", []int{7000215}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token exchange mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
			if !strings.Contains(r.body.ErrorDescription, tt.wantDesc) {
				t.Errorf("error_description = %q, want it to mention %q", r.body.ErrorDescription, tt.wantDesc)
			}
		})
	}
}
