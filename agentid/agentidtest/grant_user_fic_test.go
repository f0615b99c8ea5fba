package agentidtest_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// agentUserClaims are the claims of agent-1's agent user token for
// api://orders with scp Orders.Read, but the volatile ones.
func agentUserClaims(w *world) map[string]any {
	return map[string]any{
		"iss":             w.a.Issuer(),
		"aud":             "api://orders",
		"tid":             homeTenant,
		"ver":             "2.0",
		"idtyp":           "user",
		"sub":             agentUserOID,
		"oid":             agentUserOID,
		"upn":             agentUserUPN,
		"scp":             "Orders.Read",
		"azp":             agentID,
		"appid":           agentID,
		"azpacr":          "2",
		"xms_idrel":       "1",
		"xms_par_app_azp": blueprintID,
		"xms_act_fct":     "11",
		"xms_sub_fct":     "13",
	}
}

// userResponse is what a test compares of a user_fic or refresh answer.
type userResponse struct {
	TokenType    string
	Scope        string
	Access       map[string]any
	ID           map[string]any
	HasRefresh   bool
	ClientInfo   map[string]string
	ExpiresIn    int64
	ExtExpiresIn int64
}

// decodeUserResponse verifies and decodes the tokens of body.
func decodeUserResponse(t *testing.T, w *world, body tokenBody) userResponse {
	t.Helper()
	got := userResponse{
		TokenType:    body.TokenType,
		Scope:        body.Scope,
		Access:       claimsOf(t, w.a, body.AccessToken, accessVolatile...),
		HasRefresh:   body.RefreshToken != "",
		ExpiresIn:    body.ExpiresIn,
		ExtExpiresIn: body.ExtExpiresIn,
	}
	if body.IDToken != "" {
		got.ID = claimsOf(t, w.a, body.IDToken, "iat", "exp")
	}
	if body.ClientInfo != "" {
		raw, err := base64.RawURLEncoding.DecodeString(body.ClientInfo)
		if err != nil {
			t.Fatalf("client_info %q is not unpadded base64url: %v", body.ClientInfo, err)
		}
		if err := json.Unmarshal(raw, &got.ClientInfo); err != nil {
			t.Fatalf("client_info %s is not a JSON object of strings: %v", raw, err)
		}
	}
	return got
}

func TestUserFIC(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	t2 := w.t2(t, agentID)
	idToken := map[string]any{
		"iss": w.a.Issuer(), "aud": agentID, "sub": agentUserOID, "oid": agentUserOID,
		"upn": agentUserUPN, "preferred_username": agentUserUPN, "tid": homeTenant,
	}
	byName := userFICForm(agentID, t1, t2, "", "api://orders/.default")
	byName.Del("user_id")
	byName.Del("client_info")
	byName.Set("username", "AGENT-1@Contoso.example")
	tests := []struct {
		name string
		form url.Values
		want userResponse
	}{
		{"by user_id with OpenID Connect scopes",
			userFICForm(agentID, t1, t2, agentUserOID, "api://orders/Orders.Read openid profile offline_access"),
			userResponse{
				TokenType: "Bearer", Scope: "api://orders/Orders.Read openid profile offline_access",
				Access: agentUserClaims(w), ID: idToken, HasRefresh: true,
				ClientInfo: map[string]string{"uid": agentUserOID, "utid": homeTenant},
				ExpiresIn:  3600, ExtExpiresIn: 3600,
			}},
		{"by username, .default only", byName, userResponse{
			TokenType: "Bearer", Scope: "api://orders/access_as_user",
			Access:    with(agentUserClaims(w), map[string]any{"scp": "access_as_user"}),
			ExpiresIn: 3600, ExtExpiresIn: 3600,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeUserResponse(t, w, w.mustToken(t, tt.form))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("user_fic answer mismatch (-want +got):\n%s", diff)
			}
		})
	}
	if got := w.a.Requests("user_fic"); got != len(tests) {
		t.Errorf("Requests(user_fic) = %d, want %d", got, len(tests))
	}
}

func TestUserFICRefused(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	t2 := w.t2(t, agentID)
	now := w.clock.Now()
	const scope = "api://orders/Orders.Read openid profile offline_access"
	form := func(changes ...string) url.Values {
		f := userFICForm(agentID, t1, t2, agentUserOID, scope)
		for i := 0; i+1 < len(changes); i += 2 {
			if changes[i+1] == "" {
				f.Del(changes[i])
			} else {
				f.Set(changes[i], changes[i+1])
			}
		}
		return f
	}
	agentApp := w.mustToken(t, agentForm(agentID, t1, "api://orders/.default")).AccessToken
	expiredT2 := w.issue(t, map[string]any{
		"iss": w.a.Issuer(), "aud": "api://AzureADTokenExchange", "sub": agentOID, "oid": agentOID,
		"azp": agentID, "idtyp": "app", "exp": now.Add(-time.Minute).Unix(),
	})
	plain := userFICForm(plainID, "", t2, agentUserOID, scope)
	plain.Del("client_assertion")
	plain.Del("client_assertion_type")
	plain.Set("client_secret", plainSecret)

	invalidRequest := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_request", []int{code}} }
	invalidGrant := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_grant", []int{code}} }
	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"both user_id and username", form("username", agentUserUPN), invalidRequest(90023)},
		{"neither user_id nor username", form("user_id", ""), invalidRequest(900144)},
		{"with requested_token_use", form("requested_token_use", "on_behalf_of"), invalidRequest(90023)},
		{"no credential", form("user_federated_identity_credential", ""), invalidRequest(900144)},
		{"T2 of another agent", form("user_federated_identity_credential", w.t2(t, siblingID)), invalidGrant(700213)},
		{"T1 instead of T2", form("user_federated_identity_credential", t1), invalidGrant(700213)},
		{"agent token for another audience", form("user_federated_identity_credential", agentApp), invalidGrant(700212)},
		{"expired T2", form("user_federated_identity_credential", expiredT2), invalidGrant(500133)},
		{"not a JWT", form("user_federated_identity_credential", "x.y.z"), invalidGrant(50013)},
		{"unknown agent user", form("user_id", "ghost"), invalidGrant(50034)},
		{"unknown username", form("user_id", "", "username", "ghost@contoso.example"), invalidGrant(50034)},
		{"a human user", form("user_id", userOID), invalidGrant(82001)},
		{"another agent's agent user", form("user_id", agent2UserID), invalidGrant(82001)},
		{"scopes of two resources", form("scope", "api://orders/Orders.Read api://billing/Billing.Read openid"),
			outcome{http.StatusBadRequest, "invalid_scope", []int{70011}}},
		{"client that is no agent", plain, outcome{http.StatusBadRequest, "unauthorized_client", []int{82001}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("user_fic request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}
