package credentials_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func TestAgentIdentityWire(t *testing.T) {
	e := newAgentEnv(t, nil)
	if _, err := e.agent.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token(): %v", err)
	}
	reqs := e.a.TokenRequests()
	if len(reqs) != 2 {
		t.Fatalf("the authority saw %d token requests, want 2 (leg 1 and leg 2)", len(reqs))
	}
	leg1 := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {blueprintID},
		"client_secret": {testSecret},
		"scope":         {exchangeScope},
		"fmi_path":      {agentID},
	}
	if diff := cmp.Diff(leg1, reqs[0].Form); diff != "" {
		t.Errorf("leg 1 form mismatch (-want +got):\n%s", diff)
	}
	leg2 := cloneValues(reqs[1].Form)
	t1 := leg2.Get("client_assertion")
	leg2.Del("client_assertion")
	want2 := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {agentID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"scope":                 {"api://orders/.default"},
	}
	if diff := cmp.Diff(want2, leg2); diff != "" {
		t.Errorf("leg 2 form mismatch (-want +got):\n%s", diff)
	}
	c := claimsOf(t, e.a, t1)
	if c["aud"] != "api://AzureADTokenExchange" || c["fmi_path"] != agentID || c["azp"] != blueprintID {
		t.Errorf("leg 2's client_assertion claims = %v, want T1: aud api://AzureADTokenExchange, fmi_path %s, azp %s", c, agentID, blueprintID)
	}
}

func TestAgentIdentityTokenClaims(t *testing.T) {
	e := newAgentEnv(t, nil)
	tok, err := e.agent.Token(context.Background(), ordersRead)
	must(t, err)
	c := claimsOf(t, e.a, tok.AccessToken())
	got := map[string]any{"azp": c["azp"], "idtyp": c["idtyp"], "xms_act_fct": c["xms_act_fct"], "xms_par_app_azp": c["xms_par_app_azp"], "aud": c["aud"]}
	want := map[string]any{"azp": agentID, "idtyp": "app", "xms_act_fct": "11", "xms_par_app_azp": blueprintID, "aud": "api://orders"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("autonomous token claims mismatch (-want +got):\n%s", diff)
	}
}

func TestSingleInstanceAgentSkipsLeg1(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	must(t, a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(testSecret)))
	must(t, a.RegisterAgent(blueprintID, blueprintID))
	bp, err := credentials.NewClient(entraAt(a), blueprintID, credentials.ClientSecret(mustSecret(t, testSecret)))
	must(t, err)
	defer bp.Close()
	agent, err := credentials.NewAgentIdentity(bp, blueprintID)
	must(t, err)
	defer agent.Close()
	tok, err := agent.Token(context.Background(), ordersRead)
	must(t, err)
	reqs := a.TokenRequests()
	if len(reqs) != 1 || reqs[0].Form.Get("fmi_path") != "" || reqs[0].Form.Get("client_secret") != testSecret {
		t.Errorf("a single-instance agent sent %d request(s) (%v), want one client_credentials with the blueprint's secret", len(reqs), reqs)
	}
	if c := claimsOf(t, a, tok.AccessToken()); c["xms_act_fct"] != "11" || c["azp"] != blueprintID {
		t.Errorf("single-instance agent token claims = %v, want facet 11 and azp %s", c, blueprintID)
	}
}

func TestExchangeTokenOnceForConcurrentMisses(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	must(t, a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(testSecret)))
	bp, err := credentials.NewClient(entraAt(a), blueprintID, credentials.ClientSecret(mustSecret(t, testSecret)))
	must(t, err)
	defer bp.Close()
	const agents, scopes, callers = 3, 10, 100
	var ids []*credentials.AgentIdentity
	for i := range agents {
		id := fmt.Sprintf("a9a9a9a9-0000-4000-8000-00000000010%d", i)
		must(t, a.RegisterAgent(blueprintID, id))
		ag, err := credentials.NewAgentIdentity(bp, id)
		must(t, err)
		defer ag.Close()
		ids = append(ids, ag)
	}
	a.SetLatency(20 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := credentials.Request{Scopes: []string{fmt.Sprintf("api://r%d/.default", i%scopes)}}
			if _, err := ids[i%agents].Token(context.Background(), req); err != nil {
				t.Errorf("Token(): %v", err)
			}
		}()
	}
	wg.Wait()
	if got := len(requestsWhere(a, isLeg1)); got != agents {
		t.Errorf("exchange-token (leg 1) requests = %d, want %d (one per agent)", got, agents)
	}
	// Every (agent, scope) pair that occurred once: callers cover all 30.
	if got := len(requestsWhere(a, isLeg2)); got != agents*scopes {
		t.Errorf("agent-token (leg 2) requests = %d, want %d", got, agents*scopes)
	}
}

func TestExchangeTokenRefreshedBeforeItIsNeeded(t *testing.T) {
	clk := newFakeClock()
	e := newAgentEnv(t, []agentidtest.Option{agentidtest.WithRefreshIn(10 * time.Minute)}, credentials.WithClock(clk.Now))
	_, err := e.agent.Token(context.Background(), ordersRead)
	must(t, err)
	// Past T1's refresh point, a new scope's leg 2 still uses a valid T1,
	// and T1 is renewed in the background exactly once.
	clk.Advance(11 * time.Minute)
	_, err = e.agent.Token(context.Background(), credentials.Request{Scopes: []string{"api://billing/.default"}})
	must(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for len(requestsWhere(e.a, isLeg1)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := len(requestsWhere(e.a, isLeg1)); got != 2 {
		t.Errorf("exchange-token requests = %d, want 2 (the first and one background refresh)", got)
	}
}

func TestAgentBlockedOrDeniedFailsWithoutRetry(t *testing.T) {
	tests := []struct {
		name  string
		apply func(a *agentidtest.Authority)
		is    error
	}{
		{"conditional access", func(a *agentidtest.Authority) { a.DenyAgentByPolicy(agentID) }, credentials.ErrPolicyDenied},
		{"disabled agent", func(a *agentidtest.Authority) { a.BlockAgent(agentID) }, credentials.ErrAgentBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAgentEnv(t, nil)
			tt.apply(e.a)
			_, err := e.agent.Token(context.Background(), ordersRead)
			if !errorsIs(err, tt.is) {
				t.Fatalf("Token() = %v, want %v", err, tt.is)
			}
			if n := len(e.a.TokenRequests()); n > 2 {
				t.Errorf("the authority saw %d requests, want at most 2 (no retries)", n)
			}
		})
	}
}

func TestAgentSourcesPrintNoSecret(t *testing.T) {
	e := newAgentEnv(t, nil)
	user := e.userToken(t)
	obo := e.agent.OnBehalfOf(user)
	if _, err := obo.Token(context.Background(), ordersRead); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"*AgentIdentity": e.agent,
		"*AgentUser":     e.agent.AgentUser(agentUserOID),
		"*OnBehalfOf":    obo,
		"*Client":        e.blueprint,
	} {
		for how, text := range printed(v) {
			if strings.Contains(text, user) || strings.Contains(text, testSecret) {
				t.Errorf("%s printed with %s contains a secret: %s", name, how, text)
			}
		}
	}
}
