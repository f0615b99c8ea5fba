package agentidtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

func TestAgentTokenClaims(t *testing.T) {
	w := newWorld(t)
	iss := w.a.Issuer()
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	agentToken := map[string]any{
		"iss":             iss,
		"aud":             "api://orders",
		"sub":             agentOID,
		"oid":             agentOID,
		"azp":             agentID,
		"appid":           agentID,
		"azpacr":          "2",
		"tid":             homeTenant,
		"idtyp":           "app",
		"ver":             "2.0",
		"roles":           []any{"Orders.Read"},
		"xms_par_app_azp": blueprintID,
		"xms_act_fct":     "11",
		"xms_sub_fct":     "11",
	}
	tests := []struct {
		name string
		form url.Values
		want map[string]any
	}{
		{"leg 1: exchange token T1", fmiForm(blueprintID, blueprintSecret, agentID), map[string]any{
			"iss":      iss,
			"aud":      "api://AzureADTokenExchange",
			"sub":      "/eid1/c/pub/t/" + homeTenant + "/a/" + blueprintID + "/" + agentID,
			"oid":      blueprintOID,
			"azp":      blueprintID,
			"appid":    blueprintID,
			"azpacr":   "1",
			"tid":      homeTenant,
			"idtyp":    "app",
			"ver":      "2.0",
			"fmi_path": agentID,
		}},
		{"leg 2: autonomous agent token", agentForm(agentID, t1, "api://orders/.default"), agentToken},
		{"leg 2 again with the same T1", agentForm(agentID, t1, "api://billing/.default"),
			with(agentToken, map[string]any{"aud": "api://billing", "roles": nil})},
		{"leg 2 for the exchange audience: T2", agentForm(agentID, t1, exchangeScope),
			with(agentToken, map[string]any{"aud": "api://AzureADTokenExchange", "roles": nil})},
		{"leg 2 with an RFC 8707 resource", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {agentID},
			"client_assertion_type": {jwtBearer}, "client_assertion": {t1},
			"resource": {"api://orders"}, "scope": {"Orders.Read"},
		}, with(agentToken, map[string]any{"scp": "Orders.Read"})},
		{"single-instance agent by its own credential", secretForm(singleID, singleSecret, "api://orders/.default"),
			with(agentToken, map[string]any{
				"sub": singleOID, "oid": singleOID, "azp": singleID, "appid": singleID, "azpacr": "1",
				"roles": []any{"Orders.Write"}, "xms_par_app_azp": singleID,
			})},
		{"single-instance agent by its own T1", agentForm(singleID, w.t1(t, singleID, singleSecret, singleID), "api://orders/.default"),
			with(agentToken, map[string]any{
				"sub": singleOID, "oid": singleOID, "azp": singleID, "appid": singleID,
				"roles": []any{"Orders.Write"}, "xms_par_app_azp": singleID,
			})},
		{"blueprint without fmi_path: a plain app token", secretForm(blueprintID, blueprintSecret, exchangeScope), map[string]any{
			"iss": iss, "aud": "api://AzureADTokenExchange", "sub": blueprintOID, "oid": blueprintOID,
			"azp": blueprintID, "appid": blueprintID, "azpacr": "1", "tid": homeTenant, "idtyp": "app", "ver": "2.0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := w.mustToken(t, tt.form)
			if body.TokenType != "Bearer" || body.ExpiresIn != 3600 {
				t.Errorf("token_type, expires_in = %q, %d, want Bearer, 3600", body.TokenType, body.ExpiresIn)
			}
			got := claimsOf(t, w.a, body.AccessToken, accessVolatile...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("access token claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := w.a.Requests("client_credentials"); got != len(tests)+2 {
		t.Errorf("Requests(client_credentials) = %d, want %d", got, len(tests)+2)
	}
}

func TestFMIExchangeRefused(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	change := func(f url.Values, kv ...string) url.Values {
		f = cloneForm(f)
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	invalidRequest := outcome{http.StatusBadRequest, "invalid_request", []int{90023}}
	unauthorized := func(code int) outcome { return outcome{http.StatusBadRequest, "unauthorized_client", []int{code}} }
	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"empty fmi_path", fmiForm(blueprintID, blueprintSecret, ""), invalidRequest},
		{"client is not a blueprint", fmiForm(plainID, plainSecret, agentID), unauthorized(82001)},
		{"agent with fmi_path", change(agentForm(agentID, t1, exchangeScope), "fmi_path", siblingID), unauthorized(82001)},
		{"scope is not the exchange audience", change(fmiForm(blueprintID, blueprintSecret, agentID), "scope", "api://orders/.default"), invalidRequest},
		{"with a resource", change(fmiForm(blueprintID, blueprintSecret, agentID), "resource", "api://AzureADTokenExchange"), invalidRequest},
		{"unknown agent", fmiForm(blueprintID, blueprintSecret, "ghost"), unauthorized(700016)},
		{"agent of another blueprint", fmiForm(otherBlueprintID, otherBlueprintSecret, agentID), unauthorized(82001)},
		{"wrong blueprint secret", fmiForm(blueprintID, "nope", agentID), outcome{http.StatusBadRequest, "invalid_client", []int{7000215}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("leg 1 request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestAgentAssertionRefused(t *testing.T) {
	w := newWorld(t)
	w.a.AddTenant("tenant-2")
	rogue := agentidtest.NewAuthority(t, agentidtest.WithTenantID(homeTenant))
	now := w.clock.Now()
	t1Claims := func(changes map[string]any) map[string]any {
		return with(map[string]any{
			"iss": w.a.Issuer(), "aud": "api://AzureADTokenExchange", "sub": "/eid1/x",
			"azp": blueprintID, "fmi_path": agentID, "idtyp": "app",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}, changes)
	}
	otherTenantT1 := postTokenTo(t, w.a.HTTPClient(), w.a.URL()+"/tenant-2/oauth2/v2.0/token",
		fmiForm(blueprintID, blueprintSecret, agentID), nil).body.AccessToken
	forged, err := rogue.IssueToken(t1Claims(nil))
	if err != nil {
		t.Fatal(err)
	}
	invalid := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_client", []int{code}} }
	tests := []struct {
		name      string
		client    string
		assertion string
		want      outcome
	}{
		{"crafted T1 is accepted", agentID, w.issue(t, t1Claims(nil)), ok},
		{"T1 for another agent", agentID, w.t1(t, blueprintID, blueprintSecret, siblingID), invalid(700213)},
		{"T1 of another blueprint", agentID, w.issue(t, t1Claims(map[string]any{"azp": otherBlueprintID})), invalid(700213)},
		{"T1 of the other blueprint for its agent", agentID, w.t1(t, otherBlueprintID, otherBlueprintSecret, otherAgentID), invalid(700213)},
		{"T1 with another audience", agentID, w.issue(t, t1Claims(map[string]any{"aud": "api://orders"})), invalid(700212)},
		{"T1 of another tenant", agentID, otherTenantT1, invalid(700211)},
		{"T1 signed by another authority", agentID, forged, invalid(700027)},
		{"T1 without exp", agentID, w.issue(t, t1Claims(map[string]any{"exp": nil})), invalid(50027)},
		{"T1 not valid yet", agentID, w.issue(t, t1Claims(map[string]any{"nbf": now.Add(time.Minute).Unix()})), invalid(700024)},
		{"T2 instead of T1", agentID, w.t2(t, agentID), invalid(700213)},
		{"user token instead of T1", agentID, w.userToken(t, "api://AzureADTokenExchange"), invalid(700213)},
		{"not a JWT", agentID, "not-a-jwt", invalid(50027)},
		{"unknown agent", "ghost", w.t1(t, blueprintID, blueprintSecret, agentID), invalid(700016)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, agentForm(tt.client, tt.assertion, "api://orders/.default"))
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("leg 2 request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestAgentAssertionExpiry(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	w.clock.Advance(time.Hour - time.Second)
	if r := w.post(t, agentForm(agentID, t1, "api://orders/.default")); r.status != http.StatusOK {
		t.Fatalf("T1 one second before exp: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
	}
	w.clock.Advance(time.Second)
	r := w.post(t, agentForm(agentID, t1, "api://orders/.default"))
	want := outcome{http.StatusBadRequest, "invalid_client", []int{700024}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("expired T1 mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
	}

	// A T1 signed by a retired key no longer authenticates the agent.
	t1 = w.t1(t, blueprintID, blueprintSecret, agentID)
	w.a.RotateKeys()
	w.a.RetireOldKeys()
	r = w.post(t, agentForm(agentID, t1, "api://orders/.default"))
	want = outcome{http.StatusBadRequest, "invalid_client", []int{700027}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("T1 of a retired key mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
	}
}

func TestSingleInstanceAgent(t *testing.T) {
	w := newWorld(t)
	// The single-instance agent's T2 comes from its own credential, and
	// serves for its agent user as any agent's T2 does.
	if err := w.a.RegisterAgentUser(singleID, "u-single", "single@contoso.example"); err != nil {
		t.Fatal(err)
	}
	t2 := w.mustToken(t, secretForm(singleID, singleSecret, exchangeScope)).AccessToken
	form := userFICForm(singleID, "", t2, "u-single", "api://orders/Orders.Read offline_access")
	form.Del("client_assertion")
	form.Del("client_assertion_type")
	form.Set("client_secret", singleSecret)
	body := w.mustToken(t, form)
	got := claimsOf(t, w.a, body.AccessToken, accessVolatile...)
	want := map[string]any{
		"iss": w.a.Issuer(), "aud": "api://orders", "tid": homeTenant, "ver": "2.0",
		"idtyp": "user", "sub": "u-single", "oid": "u-single", "upn": "single@contoso.example",
		"scp": "Orders.Read", "azp": singleID, "appid": singleID, "azpacr": "1", "xms_idrel": "1",
		"xms_par_app_azp": singleID, "xms_act_fct": "11", "xms_sub_fct": "13",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("single-instance agent user token mismatch (-want +got):\n%s", diff)
	}
}
