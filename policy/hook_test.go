package policy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/policy"
)

const tokenPolicies = `
@id("orders")
permit (principal == Agent::"agent-1", action == Action::"acquire_token", resource == Api::"api://orders");

@id("no-graph-for-risky-agents")
forbid (principal, action == Action::"acquire_token", resource == Api::"https://graph.microsoft.com")
when { principal.risk >= 2 };

@id("graph")
permit (principal, action == Action::"acquire_token", resource == Api::"https://graph.microsoft.com");
`

// TestTokenHookDeniedSendsNoRequest plugs the hook into a credentials
// client of a real local authority: a denied acquisition never reaches
// the token endpoint.
func TestTokenHookDeniedSendsNoRequest(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient("agent-1", agentidtest.WithSecret("s3cret")); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, tokenPolicies)
	self := agentid.Identity{TenantID: a.TenantID(), AgentID: "agent-1", Kind: agentid.Autonomous}
	hook := policy.TokenHook(e, self)

	secret, err := credentials.NewSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(credentials.Entra(a.TenantID(), credentials.WithAuthorityHost(a.URL())), "agent-1",
		credentials.ClientSecret(secret),
		credentials.WithPreAcquire(func(ctx context.Context, r credentials.Request) error { return hook(ctx, r.Resource, r.Scopes) }))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	_, err = c.Token(ctx, credentials.Request{Scopes: []string{"api://ledger/.default"}})
	var de *policy.DeniedError
	if !errors.Is(err, credentials.ErrPolicyDenied) || !errors.As(err, &de) {
		t.Fatalf("Token(api://ledger) error = %v, want ErrPolicyDenied and a *policy.DeniedError", err)
	}
	if de.Action != policy.AcquireToken || de.Resource.String() != `Api::"api://ledger"` {
		t.Errorf("DeniedError = %+v, want acquire_token on Api::\"api://ledger\"", de)
	}
	if n := a.Requests(""); n != 0 {
		t.Fatalf("a denied acquisition sent %d token request(s), want 0", n)
	}

	if _, err := c.Token(ctx, credentials.Request{Scopes: []string{"api://orders/.default"}}); err != nil {
		t.Fatalf("Token(api://orders) error = %v", err)
	}
	if n := a.Requests("client_credentials"); n != 1 {
		t.Errorf("an allowed acquisition sent %d client_credentials request(s), want 1", n)
	}

	// A subject in the context: the agent at medium risk may not get a
	// Graph token; at no risk it may.
	risky := policy.FromIdentity(self, nil)
	risky.Agent.Risk = policy.RiskMedium
	graph := credentials.Request{Scopes: []string{"https://graph.microsoft.com/.default"}}
	if _, err := c.Token(policy.NewContext(ctx, risky), graph); !errors.Is(err, policy.ErrDenied) {
		t.Errorf("Token(graph) at medium risk error = %v, want ErrDenied", err)
	}
	if n := a.Requests(""); n != 1 {
		t.Errorf("token requests = %d after a denied Graph token, want 1", n)
	}
	if _, err := c.Token(ctx, graph); err != nil {
		t.Errorf("Token(graph) error = %v", err)
	}
}

func TestTokenHookResource(t *testing.T) {
	var got []string
	d := policy.DeciderFunc(func(_ context.Context, r policy.Request) (policy.Decision, error) {
		got = append(got, r.Resource.ID)
		return policy.Decision{Allow: true}, nil
	})
	hook := policy.TokenHook(d, agentid.Identity{AgentID: "a"})
	tests := []struct {
		resource string
		scopes   []string
		want     string
	}{
		{"", []string{"api://orders/.default"}, "api://orders"},
		{"", []string{"https://graph.microsoft.com/User.Read", "openid"}, "https://graph.microsoft.com"},
		{"", []string{"openid"}, "openid"},
		{"https://orders.example.com", []string{"orders.read"}, "https://orders.example.com"},
	}
	for _, tt := range tests {
		got = got[:0]
		if err := hook(context.Background(), tt.resource, tt.scopes); err != nil || len(got) != 1 || got[0] != tt.want {
			t.Errorf("hook(%q, %q) decided %v (%v), want %q", tt.resource, tt.scopes, got, err, tt.want)
		}
	}
}
