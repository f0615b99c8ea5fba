package agentidtest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

func TestRegisterAgentErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		register func() error
	}{
		{"blueprint: empty id", func() error { return w.a.RegisterBlueprint("", agentidtest.WithSecret("s")) }},
		{"blueprint: no credential", func() error { return w.a.RegisterBlueprint("bp-x") }},
		{"blueprint: id of a client", func() error { return w.a.RegisterBlueprint(plainID, agentidtest.WithSecret("s")) }},
		{"blueprint: id of a blueprint", func() error { return w.a.RegisterBlueprint(blueprintID, agentidtest.WithSecret("s")) }},
		{"blueprint: id of an agent", func() error { return w.a.RegisterBlueprint(agentID, agentidtest.WithSecret("s")) }},
		{"client: id of an agent", func() error { return w.a.RegisterClient(siblingID, agentidtest.WithSecret("s")) }},
		{"agent: empty blueprint id", func() error { return w.a.RegisterAgent("", "agent-x") }},
		{"agent: empty agent id", func() error { return w.a.RegisterAgent(blueprintID, "") }},
		{"agent: unknown blueprint", func() error { return w.a.RegisterAgent("ghost", "agent-x") }},
		{"agent: parent is a plain client", func() error { return w.a.RegisterAgent(plainID, "agent-x") }},
		{"agent: parent is an agent", func() error { return w.a.RegisterAgent(agentID, "agent-x") }},
		{"agent: duplicate", func() error { return w.a.RegisterAgent(blueprintID, agentID) }},
		{"agent: duplicate under another blueprint", func() error { return w.a.RegisterAgent(otherBlueprintID, agentID) }},
		{"agent: id of a client", func() error { return w.a.RegisterAgent(blueprintID, plainID) }},
		{"agent: id of another blueprint", func() error { return w.a.RegisterAgent(blueprintID, otherBlueprintID) }},
		{"agent: roles for an empty resource", func() error {
			return w.a.RegisterAgent(blueprintID, "agent-x", agentidtest.WithAgentAppRoles("", "r"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.register(); err == nil {
				t.Error("registration = nil, want an error")
			}
		})
	}
	// A failed registration leaves nothing behind.
	if err := w.a.RegisterAgent(blueprintID, "agent-x"); err != nil {
		t.Errorf("RegisterAgent(%q, agent-x) after failures = %v, want nil", blueprintID, err)
	}
}

func TestRegisterAgentConcurrentSafe(t *testing.T) {
	const n = 20
	w := newWorld(t)
	tr := w.a.HTTPClient().Transport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 32, 32
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	user := w.userToken(t, blueprintID)

	var wg sync.WaitGroup
	regErrs := make([]error, n)
	results := make([][]result, n)
	reqErrs := make([]error, n)
	for i := range n {
		// Registration of a blueprint, its agents and users...
		wg.Go(func() {
			bp, ag := fmt.Sprintf("bp-%d", i), fmt.Sprintf("ag-%d", i)
			if i%2 == 0 {
				w.a.BlockAgent(ag)
			}
			regErrs[i] = firstErr(
				w.a.RegisterBlueprint(bp, agentidtest.WithSecret("s")),
				w.a.RegisterAgent(bp, ag, agentidtest.WithAgentAppRoles("api://orders", "R")),
				w.a.RegisterUser(fmt.Sprintf("user-%d", i), fmt.Sprintf("user-%d@contoso.example", i)),
				w.a.RegisterAgentUser(ag, fmt.Sprintf("au-%d", i), fmt.Sprintf("au-%d@contoso.example", i)),
			)
			w.a.RevokeRefreshTokens(fmt.Sprintf("au-%d", i))
		})
		// ...while tokens are issued to agents already registered.
		wg.Go(func() {
			for _, form := range []url.Values{
				fmiForm(blueprintID, blueprintSecret, agentID),
				agentForm(agentID, t1, "api://orders/.default"),
				oboForm(agentID, t1, user, "api://orders/.default"),
			} {
				r, err := tryPostToken(client, w.a.TokenURL(), form, nil)
				if err != nil {
					reqErrs[i] = err
					return
				}
				results[i] = append(results[i], r)
			}
		})
	}
	wg.Wait()

	for i := range n {
		if regErrs[i] != nil {
			t.Errorf("registration %d: %v", i, regErrs[i])
		}
		if reqErrs[i] != nil {
			t.Fatalf("requests %d: %v", i, reqErrs[i])
		}
		for j, r := range results[i] {
			if r.status != http.StatusOK {
				t.Errorf("requests %d, #%d: status %d, want 200 (%s)", i, j, r.status, r.body.ErrorDescription)
			}
		}
		// Every registration took effect, blocks included.
		want := http.StatusOK
		if i%2 == 0 {
			want = http.StatusBadRequest
		}
		if r := w.post(t, fmiForm(fmt.Sprintf("bp-%d", i), "s", fmt.Sprintf("ag-%d", i))); r.status != want {
			t.Errorf("leg 1 for ag-%d: status %d, want %d (%s)", i, r.status, want, r.body.ErrorDescription)
		}
	}
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func TestAgentGrantsFaultsAndLog(t *testing.T) {
	w := newWorld(t)
	t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
	t2 := w.t2(t, agentID)
	w.a.Reset()
	w.a.ThrottleNext(1, time.Second)
	w.a.FailNext(1, http.StatusServiceUnavailable, agentidtest.OAuthError{Code: "temporarily_unavailable"})
	userFIC := userFICForm(agentID, t1, t2, agentUserOID, "api://orders/Orders.Read")
	obo := oboForm(agentID, t1, w.userToken(t, blueprintID), "api://orders/.default")
	got := []outcome{
		w.post(t, userFIC).outcome(),
		w.post(t, obo).outcome(),
		w.post(t, obo).outcome(),
	}
	want := []outcome{
		{http.StatusTooManyRequests, "temporarily_unavailable", []int{90055}},
		{Status: http.StatusServiceUnavailable, Error: "temporarily_unavailable"},
		ok,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes with faults mismatch (-want +got):\n%s", diff)
	}
	var grants []string
	for _, tr := range w.a.TokenRequests() {
		grants = append(grants, tr.Grant)
	}
	wantGrants := []string{"user_fic", "urn:ietf:params:oauth:grant-type:jwt-bearer", "urn:ietf:params:oauth:grant-type:jwt-bearer"}
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("TokenRequests() grants mismatch (-want +got):\n%s", diff)
	}
	if n := w.a.Requests("urn:ietf:params:oauth:grant-type:jwt-bearer"); n != 2 {
		t.Errorf("Requests(jwt-bearer) = %d, want 2", n)
	}
}

func TestBlockAndDenyAgent(t *testing.T) {
	gates := []struct {
		name       string
		gate       func(a *agentidtest.Authority, agentID string)
		want       outcome
		wantPrefix func(agentID string) string
	}{
		{"BlockAgent", (*agentidtest.Authority).BlockAgent,
			outcome{http.StatusBadRequest, "unauthorized_client", []int{7000112}},
			func(id string) string { return "AADSTS7000112: Application '" + id + "' is disabled." }},
		{"DenyAgentByPolicy", (*agentidtest.Authority).DenyAgentByPolicy,
			outcome{http.StatusBadRequest, "invalid_grant", []int{53003}},
			func(string) string {
				return "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."
			}},
	}
	for _, g := range gates {
		t.Run(g.name, func(t *testing.T) {
			w := newWorld(t)
			mustRegister(t, w.a, "app-a", agentidtest.WithSecret("a-secret"))
			// Everything the agent could use is obtained before the gate.
			t1 := w.t1(t, blueprintID, blueprintSecret, agentID)
			t2 := w.t2(t, agentID)
			agentSelf := w.mustToken(t, agentForm(agentID, t1, "api://orders/.default")).AccessToken
			rt := w.mustToken(t, userFICForm(agentID, t1, t2, agentUserOID, "api://orders/Orders.Read offline_access")).RefreshToken
			exchangeByAgent := exchangeForm(agentID, "", w.userToken(t, "app-a"), "client_secret", "")
			exchangeByAgent.Set("client_assertion_type", jwtBearer)
			exchangeByAgent.Set("client_assertion", t1)
			siblingT1 := w.t1(t, blueprintID, blueprintSecret, siblingID)

			g.gate(w.a, agentID)
			g.gate(w.a, singleID)
			g.gate(w.a, "not-registered-yet")

			gated := []struct {
				name  string
				agent string
				form  url.Values
			}{
				{"leg 1 for the agent", agentID, fmiForm(blueprintID, blueprintSecret, agentID)},
				{"leg 2", agentID, agentForm(agentID, t1, "api://orders/.default")},
				{"OBO", agentID, oboForm(agentID, t1, w.userToken(t, blueprintID), "api://orders/.default")},
				{"user_fic", agentID, userFICForm(agentID, t1, t2, agentUserOID, "api://orders/Orders.Read")},
				{"refresh_token", agentID, refreshForm(agentID, t1, rt)},
				{"token exchange by the agent", agentID, exchangeByAgent},
				{"token exchange of a token issued to the agent", agentID, exchangeForm("app-a", "a-secret", agentSelf)},
				{"single-instance agent", singleID, secretForm(singleID, singleSecret, "api://orders/.default")},
			}
			for _, tt := range gated {
				t.Run(tt.name, func(t *testing.T) {
					r := w.post(t, tt.form)
					if diff := cmp.Diff(g.want, r.outcome()); diff != "" {
						t.Errorf("gated request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
					}
					if want := g.wantPrefix(tt.agent); !strings.HasPrefix(r.body.ErrorDescription, want) {
						t.Errorf("error_description = %q, want prefix %q", r.body.ErrorDescription, want)
					}
				})
			}

			// Other agents and the blueprint itself are not affected.
			for name, form := range map[string]url.Values{
				"sibling agent":   agentForm(siblingID, siblingT1, "api://orders/.default"),
				"blueprint":       secretForm(blueprintID, blueprintSecret, "api://orders/.default"),
				"sibling's leg 1": fmiForm(blueprintID, blueprintSecret, siblingID),
			} {
				if r := w.post(t, form); r.status != http.StatusOK {
					t.Errorf("%s after %s(%s): status %d, want 200 (%s)", name, g.name, agentID, r.status, r.body.ErrorDescription)
				}
			}
		})
	}
}

func TestBlockAgentBeforeRegistration(t *testing.T) {
	w := newWorld(t)
	w.a.BlockAgent("agent-9")
	if err := w.a.RegisterAgent(blueprintID, "agent-9"); err != nil {
		t.Fatal(err)
	}
	r := w.post(t, fmiForm(blueprintID, blueprintSecret, "agent-9"))
	want := outcome{http.StatusBadRequest, "unauthorized_client", []int{7000112}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("leg 1 for an agent blocked before registration mismatch (-want +got):\n%s", diff)
	}
}
