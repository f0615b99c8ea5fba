package bench

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// The policies of BenchmarkDecide in package policy, in Cedar and in
// Rego: per tool, a permit for the agents of one blueprint with an
// argument limit and a forbid on risk or rate; per API, a permit for
// one agent and a network rule for one team; two global forbids. The
// request is about tool-3.

func cedarPolicies(n int) string {
	var b strings.Builder
	b.WriteString(`@id("global-risk")
forbid (principal, action, resource) when { principal.risk >= 3 };
@id("global-depth")
forbid (principal, action, resource) when { context.delegation.depth > 3 };
`)
	for i := range n - 2 {
		k := i / 4
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "@id(\"tool-%d-permit\")\npermit (principal in Blueprint::\"bp-%d\", action == Action::\"invoke_tool\", resource == Tool::\"tool-%d\")\nwhen { context.args has amount && context.args.amount <= 1000 };\n", k, k, k)
		case 1:
			fmt.Fprintf(&b, "@id(\"tool-%d-forbid\")\nforbid (principal, action == Action::\"invoke_tool\", resource == Tool::\"tool-%d\")\nwhen { principal.risk >= 2 || context.counters.calls_per_minute > 60 };\n", k, k)
		case 2:
			fmt.Fprintf(&b, "@id(\"api-%d-permit\")\npermit (principal == Agent::\"agent-%d\", action in [Action::\"call_api\", Action::\"acquire_token\"], resource == Api::\"api://svc-%d\")\nwhen { context.delegation.depth <= 2 };\n", k, k, k)
		case 3:
			fmt.Fprintf(&b, "@id(\"api-%d-network\")\nforbid (principal in Group::\"team-%d\", action == Action::\"call_api\", resource is Api)\nunless { context has source_ip && context.source_ip.isInRange(ip(\"10.0.0.0/8\")) };\n", k, k)
		}
	}
	return b.String()
}

// regoPolicies is the same logic in Rego: permit and forbid are sets of
// policy ids, and result says, as Cedar does, allow when some permit
// and no forbid holds, with the determining ids.
func regoPolicies(n int) string {
	var b strings.Builder
	b.WriteString(`package passport

import rego.v1

result := {"allow": true, "reasons": permit} if {
	count(forbid) == 0
	count(permit) > 0
} else := {"allow": false, "reasons": forbid}

forbid contains "global-risk" if input.principal.risk >= 3

forbid contains "global-depth" if input.context.delegation.depth > 3
`)
	for i := range n - 2 {
		k := i / 4
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, `
permit contains "tool-%[1]d-permit" if {
	input.action == "invoke_tool"
	input.resource.type == "Tool"
	input.resource.id == "tool-%[1]d"
	input.principal.blueprint == "bp-%[1]d"
	input.context.args.amount <= 1000
}
`, k)
		case 1:
			fmt.Fprintf(&b, `
forbid contains "tool-%[1]d-forbid" if {
	input.action == "invoke_tool"
	input.resource.type == "Tool"
	input.resource.id == "tool-%[1]d"
	input.principal.risk >= 2
}

forbid contains "tool-%[1]d-forbid" if {
	input.action == "invoke_tool"
	input.resource.type == "Tool"
	input.resource.id == "tool-%[1]d"
	input.context.counters.calls_per_minute > 60
}
`, k)
		case 2:
			fmt.Fprintf(&b, `
permit contains "api-%[1]d-permit" if {
	input.principal.id == "agent-%[1]d"
	input.action in {"call_api", "acquire_token"}
	input.resource.type == "Api"
	input.resource.id == "api://svc-%[1]d"
	input.context.delegation.depth <= 2
}
`, k)
		case 3:
			fmt.Fprintf(&b, `
forbid contains "api-%[1]d-network" if {
	"team-%[1]d" in input.principal.groups
	input.action == "call_api"
	input.resource.type == "Api"
	not from_office
}
`, k)
		}
	}
	b.WriteString(`
from_office if net.cidr_contains("10.0.0.0/8", input.context.source_ip)
`)
	return b.String()
}

// The request: agent-3 of blueprint bp-3, in team-3, calls tool-3 with
// amount 250 from 10.1.2.3.

func passportRequest() policy.Request {
	s := policy.FromIdentity(agentid.Identity{
		TenantID: "contoso", AgentID: "agent-3", BlueprintID: "bp-3", Kind: agentid.Autonomous,
		Sponsors: []string{"alice@contoso.com"},
	}, nil)
	s.Agent.Groups = []string{"team-3"}
	s.Agent.Risk = policy.RiskLow
	s.SourceIP = netip.MustParseAddr("10.1.2.3")
	s.Scopes = []string{"tools.invoke"}
	s.Session = "conversation-1"
	return policy.Request{Subject: s, Action: policy.InvokeTool, Resource: policy.Tool("tool-3"), Args: map[string]any{"amount": 250}}
}

func opaInput() map[string]any {
	return map[string]any{
		"principal": map[string]any{
			"id": "agent-3", "blueprint": "bp-3", "tenant": "contoso", "kind": "autonomous",
			"groups": []any{"team-3"}, "risk": 1, "sponsors": []any{"alice@contoso.com"}, "tags": []any{},
		},
		"action":   "invoke_tool",
		"resource": map[string]any{"type": "Tool", "id": "tool-3", "risk": 0, "tags": []any{}},
		"context": map[string]any{
			"source_ip": "10.1.2.3", "risk": 0, "scopes": []any{"tools.invoke"}, "session": "conversation-1",
			"delegation": map[string]any{"depth": 0, "chain": []any{}},
			"args":       map[string]any{"amount": 250},
			"counters":   map[string]any{"calls_per_minute": 1},
		},
	}
}

func newPassport(b *testing.B, n int) *policy.Engine {
	var tick atomic.Int64
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(tick.Add(1)) * 2 * time.Second) }
	e, err := policy.New(context.Background(), policy.FromString("bench.cedar", cedarPolicies(n)),
		policy.WithClock(now), policy.WithArgument("amount", policy.ArgLong),
		policy.WithRateCounter("calls_per_minute", time.Minute))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

func newOPA(b *testing.B, n int) rego.PreparedEvalQuery {
	pq, err := rego.New(rego.Query("data.passport.result"), rego.Module("passport.rego", regoPolicies(n))).
		PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return pq
}

// BenchmarkDecide compares, on the same policies and request, the
// engine of package policy and OPA with a prepared query (its input
// converted once, outside the loop, as bare cedar-go's is in package
// policy's benchmark).
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	sizes := []int{20, 200, 2000}
	for _, n := range sizes {
		e := newPassport(b, n)
		req := passportRequest()
		if d, err := e.Decide(ctx, req); err != nil || !d.Allow {
			b.Fatalf("n=%d: passport %v, %v; want allow", n, d, err)
		}
		b.Run(fmt.Sprintf("passport/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Decide(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, n := range sizes {
		pq := newOPA(b, n)
		input, err := ast.InterfaceToValue(opaInput())
		if err != nil {
			b.Fatal(err)
		}
		rs, err := pq.Eval(ctx, rego.EvalParsedInput(input))
		if err != nil || len(rs) != 1 || rs[0].Expressions[0].Value.(map[string]any)["allow"] != true {
			b.Fatalf("n=%d: OPA %v, %v; want allow", n, rs, err)
		}
		b.Run(fmt.Sprintf("opa/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := pq.Eval(ctx, rego.EvalParsedInput(input)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSameDecisions checks that the Rego translation decides as the
// Cedar policies on requests that exercise each rule.
func TestSameDecisions(t *testing.T) {
	ctx := context.Background()
	e, err := policy.New(ctx, policy.FromString("bench.cedar", cedarPolicies(200)),
		policy.WithArgument("amount", policy.ArgLong), policy.WithRateCounter("calls_per_minute", time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	pq, err := rego.New(rego.Query("data.passport.result"), rego.Module("passport.rego", regoPolicies(200))).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*policy.Request, map[string]any)
	}{
		{"allowed", func(*policy.Request, map[string]any) {}},
		{"amount over the limit", func(r *policy.Request, in map[string]any) {
			r.Args["amount"] = 5000
			in["context"].(map[string]any)["args"] = map[string]any{"amount": 5000}
		}},
		{"agent at risk", func(r *policy.Request, in map[string]any) {
			r.Subject.Agent.Risk = policy.RiskMedium
			in["principal"].(map[string]any)["risk"] = 2
		}},
		{"other blueprint", func(r *policy.Request, in map[string]any) {
			r.Subject.Agent.BlueprintID = "bp-4"
			in["principal"].(map[string]any)["blueprint"] = "bp-4"
		}},
		{"api from outside", func(r *policy.Request, in map[string]any) {
			r.Action, r.Resource = policy.CallAPI, policy.API("api://svc-3")
			r.Subject.SourceIP = netip.MustParseAddr("192.0.2.1")
			in["action"], in["resource"] = "call_api", map[string]any{"type": "Api", "id": "api://svc-3"}
			in["context"].(map[string]any)["source_ip"] = "192.0.2.1"
		}},
		{"api from the office", func(r *policy.Request, in map[string]any) {
			r.Action, r.Resource = policy.CallAPI, policy.API("api://svc-3")
			in["action"], in["resource"] = "call_api", map[string]any{"type": "Api", "id": "api://svc-3"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, in := passportRequest(), opaInput()
			tt.modify(&req, in)
			d, err := e.Decide(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := pq.Eval(ctx, rego.EvalInput(in))
			if err != nil || len(rs) != 1 {
				t.Fatalf("OPA: %v, %v", rs, err)
			}
			res := rs[0].Expressions[0].Value.(map[string]any)
			var reasons []string
			for _, r := range res["reasons"].([]any) {
				reasons = append(reasons, r.(string))
			}
			if res["allow"] != d.Allow || strings.Join(reasons, ",") != strings.Join(d.Reasons, ",") {
				t.Errorf("OPA decides %v by %v, passport %v", res["allow"], reasons, d)
			}
		})
	}
}
