package policy_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// modelPolicies exercise every part of the entity model.
const modelPolicies = `
@id("support-tools")
permit (principal in Blueprint::"support", action == Action::"invoke_tool", resource in Group::"support-tools");

@id("sponsored-lookup")
permit (principal, action == Action::"invoke_tool", resource == Tool::"lookup")
when { principal.sponsors.contains("alice@contoso.com") };

@id("ledger")
permit (principal in Group::"finance-agents", action in [Action::"call_api", Action::"acquire_token"], resource == Api::"api://ledger")
when { context has user && context.user in Group::"finance" };

@id("orders")
permit (principal, action in [Action::"call_api", Action::"acquire_token"], resource == Api::"api://orders");

@id("helpers")
permit (principal is Agent, action == Action::"invoke_agent", resource in Group::"helpers")
when { principal.tags.contains("orchestrator") };

@id("payroll")
permit (principal in Blueprint::"support", action == Action::"invoke_tool", resource == Tool::"payroll");

@id("no-high-risk")
forbid (principal, action, resource) when { principal.risk >= 3 || context.risk >= 3 };

@id("no-risky-tools-at-medium-risk")
forbid (principal, action, resource is Tool) when { principal.risk >= 2 && resource.risk >= 2 };

@id("ledger-from-office")
forbid (principal, action == Action::"call_api", resource == Api::"api://ledger")
unless { context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8")) };

@id("payroll-in-hours")
forbid (principal, action, resource == Tool::"payroll")
unless { context.time.toTime() >= duration("8h") && context.time.toTime() < duration("18h") };

@id("delegation-depth")
forbid (principal, action, resource) when { context.delegation.depth > 2 };

@id("autonomous-no-delete")
forbid (principal, action == Action::"call_api", resource)
when { principal.kind == "autonomous" && context has http && context.http.method == "DELETE" };

@id("refund-limit")
forbid (principal, action, resource == Tool::"refund")
when { context.args has amount && context.args.amount > 500 };

@id("refund-currency")
forbid (principal, action, resource == Tool::"refund")
when { context.args has currency && !["EUR", "USD"].contains(context.args.currency) };

@id("overflow")
permit (principal, action, resource == Tool::"broken") when { principal.risk + 9223372036854775807 > 0 };
`

func modelEngine(t testing.TB, c *clock, opts ...policy.Option) *policy.Engine {
	t.Helper()
	opts = append([]policy.Option{
		policy.WithClock(c.Now),
		policy.WithArgument("amount", policy.ArgLong),
		policy.WithArgument("currency", policy.ArgString),
		policy.WithGroups(map[string][]string{"accounting": {"finance"}}),
	}, opts...)
	return newEngine(t, modelPolicies, opts...)
}

func TestDecideEntityModel(t *testing.T) {
	supportTool := func(name string, risk policy.Risk) policy.Resource {
		r := policy.Tool(name)
		r.Groups, r.Risk = []string{"support-tools"}, risk
		return r
	}
	with := func(f func(*policy.Subject)) policy.Subject {
		s := supportAgent()
		f(&s)
		return s
	}
	financeUser := &policy.User{ID: "bob", Groups: []string{"accounting"}}
	financeAgent := func(user *policy.User, ip string) policy.Subject {
		s := policy.FromIdentity(agentid.Identity{AgentID: "ledger-agent", BlueprintID: "books", Kind: agentid.Autonomous}, user)
		s.Agent.Groups = []string{"finance-agents"}
		if ip != "" {
			s.SourceIP = netip.MustParseAddr(ip)
		}
		return s
	}
	morning := time.Date(2026, 3, 2, 7, 59, 0, 0, time.UTC)
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name        string
		at          time.Time
		req         policy.Request
		wantAllow   bool
		wantReasons []string
		wantErrors  []string
	}{
		{
			name:        "blueprint and tool group",
			req:         policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow)},
			wantAllow:   true,
			wantReasons: []string{"support-tools"},
		},
		{
			name: "other blueprint, default deny",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.BlueprintID = "sales" }),
				Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow)},
		},
		{
			name: "tool outside the group",
			req:  policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("refund")},
		},
		{
			name: "sponsor",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.BlueprintID = "sales" }),
				Action: policy.InvokeTool, Resource: policy.Tool("lookup")},
			wantAllow:   true,
			wantReasons: []string{"sponsored-lookup"},
		},
		{
			name: "no sponsor",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Sponsors = []string{"eve@contoso.com"} }),
				Action: policy.InvokeTool, Resource: policy.Tool("lookup")},
		},
		{
			name:        "delegated, user in a nested group, office address",
			req:         policy.Request{Subject: financeAgent(financeUser, "10.1.2.3"), Action: policy.CallAPI, Resource: policy.API("api://ledger")},
			wantAllow:   true,
			wantReasons: []string{"ledger"},
		},
		{
			name: "autonomous: no user",
			req:  policy.Request{Subject: financeAgent(nil, "10.1.2.3"), Action: policy.CallAPI, Resource: policy.API("api://ledger")},
		},
		{
			name: "user outside finance",
			req: policy.Request{Subject: financeAgent(&policy.User{ID: "carol", Groups: []string{"sales"}}, "10.1.2.3"),
				Action: policy.CallAPI, Resource: policy.API("api://ledger")},
		},
		{
			name:        "address outside the range",
			req:         policy.Request{Subject: financeAgent(financeUser, "192.0.2.7"), Action: policy.CallAPI, Resource: policy.API("api://ledger")},
			wantReasons: []string{"ledger-from-office"},
		},
		{
			name:        "no address",
			req:         policy.Request{Subject: financeAgent(financeUser, ""), Action: policy.CallAPI, Resource: policy.API("api://ledger")},
			wantReasons: []string{"ledger-from-office"},
		},
		{
			name:        "IPv4-mapped address in range",
			req:         policy.Request{Subject: financeAgent(financeUser, "::ffff:10.9.9.9"), Action: policy.CallAPI, Resource: policy.API("api://ledger")},
			wantAllow:   true,
			wantReasons: []string{"ledger"},
		},
		{
			name:        "token for the ledger needs no address",
			req:         policy.Request{Subject: financeAgent(financeUser, ""), Action: policy.AcquireToken, Resource: policy.API("api://ledger")},
			wantAllow:   true,
			wantReasons: []string{"ledger"},
		},
		{
			name:        "payroll at noon",
			at:          noon,
			req:         policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("payroll")},
			wantAllow:   true,
			wantReasons: []string{"payroll"},
		},
		{
			name:        "payroll before eight",
			at:          morning,
			req:         policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("payroll")},
			wantReasons: []string{"payroll-in-hours"},
		},
		{
			name: "high agent risk",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Risk = policy.RiskHigh }),
				Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskNone)},
			wantReasons: []string{"no-high-risk"},
		},
		{
			name: "high session risk",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Risk = policy.RiskHigh }),
				Action: policy.CallAPI, Resource: policy.API("api://orders")},
			wantReasons: []string{"no-high-risk"},
		},
		{
			name: "medium risk agent, risky tool",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Risk = policy.RiskMedium }),
				Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskMedium)},
			wantReasons: []string{"no-risky-tools-at-medium-risk"},
		},
		{
			name: "medium risk agent, safe tool",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Risk = policy.RiskMedium }),
				Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow)},
			wantAllow:   true,
			wantReasons: []string{"support-tools"},
		},
		{
			name: "delegation depth 2",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Delegation = []string{"a", "b"} }),
				Action: policy.CallAPI, Resource: policy.API("api://orders")},
			wantAllow:   true,
			wantReasons: []string{"orders"},
		},
		{
			name: "delegation depth 3",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Delegation = []string{"a", "b", "c"} }),
				Action: policy.CallAPI, Resource: policy.API("api://orders")},
			wantReasons: []string{"delegation-depth"},
		},
		{
			name: "autonomous DELETE",
			req: policy.Request{Subject: supportAgent(), Action: policy.CallAPI, Resource: policy.API("api://orders"),
				HTTP: &policy.HTTPInfo{Method: "DELETE", Path: "/orders/1"}},
			wantReasons: []string{"autonomous-no-delete"},
		},
		{
			name: "delegated DELETE",
			req: policy.Request{Subject: policy.FromIdentity(agentid.Identity{AgentID: "agent-1", Kind: agentid.Autonomous}, &policy.User{ID: "bob"}),
				Action: policy.CallAPI, Resource: policy.API("api://orders"), HTTP: &policy.HTTPInfo{Method: "DELETE", Path: "/orders/1"}},
			wantAllow:   true,
			wantReasons: []string{"orders"},
		},
		{
			name: "refund under the limit",
			req: policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow),
				Args: map[string]any{"amount": 499, "currency": "EUR", "note": "undeclared, ignored"}},
			wantAllow:   true,
			wantReasons: []string{"support-tools"},
		},
		{
			name: "refund over the limit",
			req: policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow),
				Args: map[string]any{"amount": 501.0}},
			wantReasons: []string{"refund-limit"},
		},
		{
			name: "refund in another currency",
			req: policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: supportTool("refund", policy.RiskLow),
				Args: map[string]any{"amount": 5, "currency": "GBP"}},
			wantReasons: []string{"refund-currency"},
		},
		{
			name: "invoke a helper agent",
			req: policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Tags = []string{"orchestrator"} }),
				Action: policy.InvokeAgent, Resource: policy.Resource{Type: policy.TypeAgent, ID: "summarizer", Groups: []string{"helpers"}}},
			wantAllow:   true,
			wantReasons: []string{"helpers"},
		},
		{
			name: "invoke a helper agent, not an orchestrator",
			req: policy.Request{Subject: supportAgent(),
				Action: policy.InvokeAgent, Resource: policy.Resource{Type: policy.TypeAgent, ID: "summarizer", Groups: []string{"helpers"}}},
		},
		{
			name:       "an evaluation error never allows",
			req:        policy.Request{Subject: with(func(s *policy.Subject) { s.Agent.Risk = policy.RiskLow }), Action: policy.InvokeTool, Resource: policy.Tool("broken")},
			wantErrors: []string{"overflow"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			if !tt.at.IsZero() {
				c.Set(tt.at)
			}
			e := modelEngine(t, c)
			got := decide(t, e, tt.req)
			var gotErrors []string
			for _, er := range got.Errors {
				gotErrors = append(gotErrors, er.PolicyID)
			}
			want := policy.Decision{Allow: tt.wantAllow, WouldDeny: !tt.wantAllow, Reasons: tt.wantReasons}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(policy.Decision{}, "Errors")); diff != "" {
				t.Errorf("Decide() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantErrors, gotErrors); diff != "" {
				t.Errorf("Decide() errors mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideInvalidRequests(t *testing.T) {
	e := modelEngine(t, newClock())
	ok := policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("refund")}
	tests := []struct {
		name   string
		modify func(*policy.Request)
	}{
		{"no agent", func(r *policy.Request) { r.Subject.Agent.ID = "" }},
		{"no resource", func(r *policy.Request) { r.Resource.ID = "" }},
		{"unknown action", func(r *policy.Request) { r.Action = "delete_everything" }},
		{"resource of the wrong type", func(r *policy.Request) { r.Resource = policy.API("api://orders") }},
		{"user without id", func(r *policy.Request) { r.Subject.User = &policy.User{} }},
		{"risk out of range", func(r *policy.Request) { r.Subject.Agent.Risk = 7 }},
		{"Long argument as string", func(r *policy.Request) { r.Args = map[string]any{"amount": "12"} }},
		{"Long argument with a fraction", func(r *policy.Request) { r.Args = map[string]any{"amount": 1.5} }},
		{"String argument as number", func(r *policy.Request) { r.Args = map[string]any{"currency": 978} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			tt.modify(&req)
			if _, err := e.Decide(context.Background(), req); !errors.Is(err, policy.ErrInvalidRequest) {
				t.Errorf("Decide(%+v) error = %v, want ErrInvalidRequest", req, err)
			}
		})
	}
}

func TestFromPrincipal(t *testing.T) {
	p := &agentid.Principal{
		TenantID:    "contoso",
		AgentID:     "agent-7",
		BlueprintID: "bp",
		Kind:        agentid.Delegated,
		UserID:      "user-1",
		Scopes:      []string{"Orders.Read"},
		Actors:      []agentid.Actor{{Subject: "agent-7"}, {ClientID: "orchestrator"}},
	}
	want := policy.Subject{
		Agent:      policy.Agent{ID: "agent-7", TenantID: "contoso", BlueprintID: "bp", Kind: agentid.Delegated},
		User:       &policy.User{ID: "user-1"},
		Scopes:     []string{"Orders.Read"},
		Delegation: []string{"agent-7", "orchestrator"},
	}
	if diff := cmp.Diff(want, policy.FromPrincipal(p), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("FromPrincipal() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(policy.Subject{}, policy.FromPrincipal(nil), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("FromPrincipal(nil) mismatch (-want +got):\n%s", diff)
	}
}

func TestFromIdentityKind(t *testing.T) {
	self := agentid.Identity{AgentID: "a", Kind: agentid.Autonomous}
	if got := policy.FromIdentity(self, nil).Agent.Kind; got != agentid.Autonomous {
		t.Errorf("FromIdentity(autonomous, nil).Agent.Kind = %v, want autonomous", got)
	}
	if got := policy.FromIdentity(self, &policy.User{ID: "u"}).Agent.Kind; got != agentid.Delegated {
		t.Errorf("FromIdentity(autonomous, user).Agent.Kind = %v, want delegated", got)
	}
	self.Kind = agentid.AgentUser
	if got := policy.FromIdentity(self, &policy.User{ID: "u"}).Agent.Kind; got != agentid.AgentUser {
		t.Errorf("FromIdentity(agent user, user).Agent.Kind = %v, want agent_user", got)
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		d    policy.Decision
		want string
	}{
		{policy.Decision{Allow: true, Reasons: []string{"a", "b"}}, "allow by [a b]"},
		{policy.Decision{WouldDeny: true}, "deny (no permit applies)"},
		{policy.Decision{Allow: true, WouldDeny: true, Mode: policy.ReportOnly, Reasons: []string{"f"}}, "allow (report_only, would deny) by [f]"},
		{policy.Decision{WouldDeny: true, Errors: []policy.EvalError{{PolicyID: "p", Message: "overflow"}}}, "deny (no permit applies); errors: p: overflow"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}
