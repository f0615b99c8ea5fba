package agentidtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// refreshForm is a refresh request of agent, authenticated with t1.
func refreshForm(agent, t1, refreshToken string) url.Values {
	return url.Values{
		"grant_type":            {"refresh_token"},
		"client_id":             {agent},
		"client_assertion_type": {jwtBearer},
		"client_assertion":      {t1},
		"refresh_token":         {refreshToken},
		"client_info":           {"1"},
	}
}

// agentUserRefreshToken runs the agent user flow of agent-1 and returns
// its refresh token.
func agentUserRefreshToken(t *testing.T, w *world, t1 string) string {
	t.Helper()
	rt := w.mustToken(t, userFICForm(agentID, t1, w.t2(t, agentID), agentUserOID,
		"api://orders/Orders.Read openid profile offline_access")).RefreshToken
	if rt == "" {
		t.Fatal("user_fic with offline_access: no refresh_token")
	}
	return rt
}

func TestRefreshToken(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	idToken := map[string]any{
		"iss": w.a.Issuer(), "aud": agentID, "sub": agentUserOID, "oid": agentUserOID,
		"upn": agentUserUPN, "preferred_username": agentUserUPN, "tid": homeTenant,
	}
	want := userResponse{
		TokenType: "Bearer", Scope: "api://orders/Orders.Read openid profile offline_access",
		Access: agentUserClaims(w), ID: idToken, HasRefresh: true,
		ClientInfo: map[string]string{"uid": agentUserOID, "utid": homeTenant},
		ExpiresIn:  3600, ExtExpiresIn: 3600,
	}

	rt := agentUserRefreshToken(t, w, t1)
	body := w.mustToken(t, refreshForm(agentID, t1, rt))
	if diff := cmp.Diff(want, decodeUserResponse(t, w, body)); diff != "" {
		t.Errorf("refresh answer mismatch (-want +got):\n%s", diff)
	}
	if body.RefreshToken == rt {
		t.Error("refresh returned the same refresh token, want a rotated one")
	}

	// The rotated token works, and may name other resource scopes.
	f := refreshForm(agentID, t1, body.RefreshToken)
	f.Set("scope", "api://billing/Billing.Read")
	body = w.mustToken(t, f)
	want.Scope = "api://billing/Billing.Read openid profile offline_access"
	want.Access = with(agentUserClaims(w), map[string]any{"aud": "api://billing", "scp": "Billing.Read"})
	if diff := cmp.Diff(want, decodeUserResponse(t, w, body)); diff != "" {
		t.Errorf("refresh answer with scope mismatch (-want +got):\n%s", diff)
	}
	if got := w.a.Requests("refresh_token"); got != 2 {
		t.Errorf("Requests(refresh_token) = %d, want 2", got)
	}
}

func TestRefreshTokenRefused(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	siblingT1 := w.t1(t, blueprintID, blueprintSecret, siblingID)
	invalidGrant := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_grant", []int{code}} }

	rotated := agentUserRefreshToken(t, w, t1)
	w.mustToken(t, refreshForm(agentID, t1, rotated))
	stolen := agentUserRefreshToken(t, w, t1)
	badScope := agentUserRefreshToken(t, w, t1)
	badScopeForm := refreshForm(agentID, t1, badScope)
	badScopeForm.Set("scope", "Orders.Read")

	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"reused after rotation", refreshForm(agentID, t1, rotated), invalidGrant(70008)},
		{"issued to another client", refreshForm(siblingID, siblingT1, stolen), invalidGrant(70000)},
		{"a refused token is not consumed", refreshForm(agentID, t1, stolen), ok},
		{"bad scope", badScopeForm, outcome{http.StatusBadRequest, "invalid_scope", []int{70011}}},
		{"a bad scope does not consume the token", refreshForm(agentID, t1, badScope), ok},
		{"unknown", refreshForm(agentID, t1, "not-a-refresh-token"), invalidGrant(9002313)},
		{"missing", refreshForm(agentID, t1, ""), outcome{http.StatusBadRequest, "invalid_request", []int{900144}}},
		{"without client authentication", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {agentID}, "refresh_token": {stolen},
		}, outcome{http.StatusBadRequest, "invalid_client", []int{7000218}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := w.post(t, tt.form)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("refresh request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestRevokeRefreshTokens(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	first, second := agentUserRefreshToken(t, w, t1), agentUserRefreshToken(t, w, t1)
	w.a.RevokeRefreshTokens(agentUserOID)
	after := agentUserRefreshToken(t, w, t1)

	revoked := outcome{http.StatusBadRequest, "invalid_grant", []int{50173}}
	got := []outcome{
		w.post(t, refreshForm(agentID, t1, first)).outcome(),
		w.post(t, refreshForm(agentID, t1, second)).outcome(),
		w.post(t, refreshForm(agentID, t1, after)).outcome(),
	}
	if diff := cmp.Diff([]outcome{revoked, revoked, ok}, got); diff != "" {
		t.Errorf("refresh after RevokeRefreshTokens mismatch (-want +got):\n%s", diff)
	}
}

func TestRefreshTokenExpiry(t *testing.T) {
	w := newWorld(t)
	rt := agentUserRefreshToken(t, w, w.t1(t, blueprintID, blueprintSecret, agentID))
	w.clock.Advance(24 * time.Hour)
	// A fresh T1: the first one expired long ago.
	r := w.post(t, refreshForm(agentID, w.t1(t, blueprintID, blueprintSecret, agentID), rt))
	want := outcome{http.StatusBadRequest, "invalid_grant", []int{70008}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("refresh after 24 hours mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
	}
}
