package agentidtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

func TestOnBehalfOfClaims(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	delegated := map[string]any{
		"iss":             w.a.Issuer(),
		"aud":             "api://orders",
		"tid":             homeTenant,
		"ver":             "2.0",
		"idtyp":           "user",
		"sub":             userOID,
		"oid":             userOID,
		"upn":             userUPN,
		"scp":             "access_as_user",
		"azp":             agentID,
		"appid":           agentID,
		"azpacr":          "2",
		"xms_idrel":       "1",
		"xms_par_app_azp": blueprintID,
		"xms_act_fct":     "11",
	}
	// A first hop gets a token for blueprint-2's API, which agent-3, a
	// child of blueprint-2, exchanges again.
	firstHop := w.mustToken(t, oboForm(agentID, t1, w.userToken(t, blueprintID), "api://blueprint-2/.default")).AccessToken
	plainForm := oboForm(plainID, "", w.userToken(t, plainID), "api://orders/Orders.Read")
	plainForm.Del("client_assertion")
	plainForm.Del("client_assertion_type")
	plainForm.Set("client_secret", plainSecret)

	tests := []struct {
		name      string
		form      url.Values
		wantScope string
		want      map[string]any
	}{
		{".default, assertion for the blueprint id",
			oboForm(agentID, t1, w.userToken(t, blueprintID, "access_as_user"), "api://orders/.default"),
			"api://orders/access_as_user", delegated},
		{"named scopes, assertion for api:// blueprint id",
			oboForm(agentID, t1, w.userToken(t, "api://"+blueprintID), "api://orders/Orders.Read api://orders/Orders.Write"),
			"api://orders/Orders.Read api://orders/Orders.Write",
			with(delegated, map[string]any{"scp": "Orders.Read Orders.Write"})},
		{"OpenID Connect scopes are ignored",
			oboForm(agentID, t1, w.userToken(t, blueprintID), "openid api://orders/Orders.Read profile"),
			"api://orders/Orders.Read", with(delegated, map[string]any{"scp": "Orders.Read"})},
		{"URL resource",
			oboForm(agentID, t1, w.userToken(t, blueprintID), "https://graph.example/User.Read"),
			"https://graph.example/User.Read", with(delegated, map[string]any{"aud": "https://graph.example", "scp": "User.Read"})},
		{"OBO of an OBO token",
			oboForm(otherAgentID, w.t1(t, otherBlueprintID, otherBlueprintSecret, otherAgentID), firstHop, "api://orders/.default"),
			"api://orders/access_as_user",
			with(delegated, map[string]any{"azp": otherAgentID, "appid": otherAgentID, "xms_par_app_azp": otherBlueprintID})},
		{"client that is no agent", plainForm, "api://orders/Orders.Read",
			with(delegated, map[string]any{
				"scp": "Orders.Read", "azp": plainID, "appid": plainID, "azpacr": "1",
				"xms_par_app_azp": nil, "xms_act_fct": nil,
			})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := w.mustToken(t, tt.form)
			if body.TokenType != "Bearer" || body.Scope != tt.wantScope || body.RefreshToken != "" || body.IDToken != "" {
				t.Errorf("token_type, scope, refresh_token, id_token = %q, %q, %q, %q, want Bearer, %q and no others",
					body.TokenType, body.Scope, body.RefreshToken, body.IDToken, tt.wantScope)
			}
			got := claimsOf(t, w.a, body.AccessToken, accessVolatile...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("delegated token claims mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := w.a.Requests("urn:ietf:params:oauth:grant-type:jwt-bearer"), len(tests)+1; got != want {
		t.Errorf("Requests(jwt-bearer) = %d, want %d", got, want)
	}
}

func TestOnBehalfOfRefused(t *testing.T) {
	w := newWorld(t)
	rogue := agentidtest.NewAuthority(t, agentidtest.WithTenantID(homeTenant))
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	now := w.clock.Now()
	userClaims := func(changes map[string]any) map[string]any {
		return with(map[string]any{
			"iss": w.a.Issuer(), "aud": blueprintID, "idtyp": "user", "oid": userOID, "sub": userOID,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}, changes)
	}
	forged, err := rogue.IssueToken(userClaims(nil))
	if err != nil {
		t.Fatal(err)
	}
	form := func(assertion, scope string, changes ...string) url.Values {
		f := oboForm(agentID, t1, assertion, scope)
		for i := 0; i+1 < len(changes); i += 2 {
			if changes[i+1] == "" {
				f.Del(changes[i])
			} else {
				f.Set(changes[i], changes[i+1])
			}
		}
		return f
	}
	user := w.userToken(t, blueprintID)
	const scope = "api://orders/.default"
	invalidRequest := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_request", []int{code}} }
	invalidGrant := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_grant", []int{code}} }
	invalidScope := outcome{http.StatusBadRequest, "invalid_scope", []int{70011}}
	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"crafted user token is accepted", form(w.issue(t, userClaims(nil)), scope), ok},
		{"requested_token_use missing", form(user, scope, "requested_token_use", ""), invalidRequest(900144)},
		{"requested_token_use not on_behalf_of", form(user, scope, "requested_token_use", "id_token"), invalidRequest(90023)},
		{"assertion missing", form("", scope), invalidRequest(900144)},
		{"assertion for another audience", form(w.userToken(t, "api://orders"), scope), invalidGrant(50013)},
		{"assertion for the agent, not its blueprint", form(w.userToken(t, agentID), scope), invalidGrant(50013)},
		{"expired assertion", form(w.issue(t, userClaims(map[string]any{"exp": now.Add(-time.Second).Unix()})), scope), invalidGrant(500133)},
		{"assertion of another authority", form(forged, scope), invalidGrant(50013)},
		{"assertion of another tenant", form(w.issue(t, userClaims(map[string]any{"iss": w.a.IssuerFor("tenant-2")})), scope), invalidGrant(50013)},
		{"app token as assertion", form(w.issue(t, userClaims(map[string]any{"idtyp": "app"})), scope), invalidGrant(50013)},
		{"unknown user", form(w.issue(t, userClaims(map[string]any{"oid": "ghost", "sub": "ghost"})), scope), invalidGrant(50034)},
		{"no scope", form(user, ""), invalidScope},
		{"scopes of two resources", form(user, "api://orders/Orders.Read api://billing/Billing.Read"), invalidScope},
		{".default with another scope", form(user, "api://orders/.default api://orders/Orders.Read"), invalidScope},
		{"scope without resource", form(user, "Orders.Read"), invalidScope},
		{"only OpenID Connect scopes", form(user, "openid profile"), invalidScope},
		{"T1 of another agent", form(user, scope, "client_assertion", w.t1(t, blueprintID, blueprintSecret, siblingID)),
			outcome{http.StatusBadRequest, "invalid_client", []int{700213}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("OBO request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestOnBehalfOfExpiredUserToken(t *testing.T) {
	w := newWorld(t)
	user := w.userToken(t, blueprintID)
	w.clock.Advance(time.Hour)
	// T1 is fresh; the user's token, minted an hour ago, has expired.
	r := w.post(t, oboForm(agentID, w.t1(t, blueprintID, blueprintSecret, agentID), user, "api://orders/.default"))
	want := outcome{http.StatusBadRequest, "invalid_grant", []int{500133}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("OBO with an expired user token mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
	}
}
