package credentials_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func isUserFIC(r agentidtest.TokenRequest) bool { return r.Form.Get("grant_type") == "user_fic" }
func isRefresh(r agentidtest.TokenRequest) bool { return r.Form.Get("grant_type") == "refresh_token" }

func TestAgentUserWire(t *testing.T) {
	tests := []struct {
		name     string
		user     func(a *credentials.AgentIdentity) *credentials.AgentUser
		userForm url.Values
	}{
		{"by object id", func(a *credentials.AgentIdentity) *credentials.AgentUser { return a.AgentUser(agentUserOID) }, url.Values{"user_id": {agentUserOID}}},
		{"by user principal name", func(a *credentials.AgentIdentity) *credentials.AgentUser { return a.AgentUserByName(agentUserUPN) }, url.Values{"username": {agentUserUPN}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAgentEnv(t, nil)
			tok, err := tt.user(e.agent).Token(context.Background(), ordersRead)
			if err != nil {
				t.Fatalf("Token(): %v", err)
			}
			fic := requestsWhere(e.a, isUserFIC)
			if len(fic) != 1 {
				t.Fatalf("user_fic requests = %d, want 1", len(fic))
			}
			form := cloneValues(fic[0].Form)
			t1, t2 := form.Get("client_assertion"), form.Get("user_federated_identity_credential")
			form.Del("client_assertion")
			form.Del("user_federated_identity_credential")
			want := url.Values{
				"grant_type":            {"user_fic"},
				"client_id":             {agentID},
				"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
				"scope":                 {"api://orders/.default openid profile offline_access"},
				"client_info":           {"1"},
			}
			for k, v := range tt.userForm {
				want[k] = v
			}
			if diff := cmp.Diff(want, form); diff != "" {
				t.Errorf("user_fic form mismatch (-want +got):\n%s", diff)
			}
			if c := claimsOf(t, e.a, t1); c["fmi_path"] != agentID {
				t.Errorf("client_assertion is not T1: %v", c)
			}
			if c := claimsOf(t, e.a, t2); c["aud"] != "api://AzureADTokenExchange" || c["azp"] != agentID {
				t.Errorf("user_federated_identity_credential is not the agent's T2: %v", c)
			}
			// T2 is leg 2 with the exchange scope.
			if len(requestsWhere(e.a, func(r agentidtest.TokenRequest) bool { return isLeg2(r) && r.Form.Get("scope") == exchangeScope })) != 1 {
				t.Error("no leg-2 request for the exchange scope (T2)")
			}
			c := claimsOf(t, e.a, tok.AccessToken())
			if c["oid"] != agentUserOID || c["xms_sub_fct"] != "13" || c["azp"] != agentID {
				t.Errorf("agent-user token claims = oid %v, xms_sub_fct %v, azp %v; want %s, 13, %s", c["oid"], c["xms_sub_fct"], c["azp"], agentUserOID, agentID)
			}
		})
	}
}

func TestAgentUserRefreshesWithRefreshToken(t *testing.T) {
	clk := newFakeClock()
	e := newAgentEnv(t, []agentidtest.Option{agentidtest.WithClock(clk.Now)}, credentials.WithClock(clk.Now))
	user := e.agent.AgentUser(agentUserOID)
	first, err := user.Token(context.Background(), ordersRead)
	must(t, err)
	clk.Advance(2 * time.Hour)
	second, err := user.Token(context.Background(), ordersRead)
	must(t, err)
	if second == first {
		t.Fatal("an expired agent-user token was served")
	}
	refresh := requestsWhere(e.a, isRefresh)
	if len(refresh) != 1 || len(requestsWhere(e.a, isUserFIC)) != 1 {
		t.Fatalf("refresh_token requests = %d, user_fic = %d; want 1 and 1", len(refresh), len(requestsWhere(e.a, isUserFIC)))
	}
	form := cloneValues(refresh[0].Form)
	if form.Get("refresh_token") == "" || form.Get("client_assertion") == "" || form.Get("requested_token_use") != "" {
		t.Errorf("refresh form = keys %v; want a refresh_token and the T1 client assertion", keys(form))
	}
	// A revoked refresh token: the next refresh falls back to user_fic.
	e.a.RevokeRefreshTokens(agentUserOID)
	clk.Advance(2 * time.Hour)
	if _, err := user.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() after the refresh token was revoked: %v", err)
	}
	if got := len(requestsWhere(e.a, isUserFIC)); got != 2 {
		t.Errorf("user_fic requests = %d, want 2 (the fallback)", got)
	}
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k)
	}
	return out
}

func TestAgentUserNeedsEntra(t *testing.T) {
	e := newAgentEnv(t, nil, credentials.WithDialect(credentials.DialectRFC8693))
	if _, err := e.agent.AgentUser(agentUserOID).Token(context.Background(), ordersRead); !errorsIs(err, credentials.ErrInvalidRequest) {
		t.Errorf("agent user with the RFC 8693 dialect = %v, want ErrInvalidRequest", err)
	}
}
