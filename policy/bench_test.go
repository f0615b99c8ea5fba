package policy_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// benchPolicies returns n realistic policies: per tool, a permit for the
// agents of one blueprint with an argument limit and a forbid on risk or
// rate; per API, a permit for one agent and a network rule for one team;
// and two global forbids. The request of benchRequest is about tool-3,
// so most policies are about other agents, tools and APIs.
func benchPolicies(n int) string {
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

func benchRequest() policy.Request {
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

// benchEngine loads benchPolicies(n). Its clock moves two seconds a
// call, so that the rate counter stays under its limit and every
// decision is the same.
func benchEngine(b *testing.B, n int) *policy.Engine {
	var tick atomic.Int64
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return start.Add(time.Duration(tick.Add(1)) * 2 * time.Second) }
	return newEngine(b, benchPolicies(n), policy.WithClock(now),
		policy.WithArgument("amount", policy.ArgLong),
		policy.WithRateCounter("calls_per_minute", time.Minute))
}

// BenchmarkDecide compares a decision of the engine with bare cedar-go
// deciding the same Cedar request over the same policies (its inputs
// built once, outside the loop), at 20, 200 and 2 000 policies.
func BenchmarkDecide(b *testing.B) {
	ctx := context.Background()
	sizes := []int{20, 200, 2000}
	engines := map[int]*policy.Engine{}
	for _, n := range sizes {
		e := benchEngine(b, n)
		engines[n] = e
		want := decide(b, e, benchRequest())
		creq, ents, err := policy.CedarInputs(e, benchRequest())
		if err != nil {
			b.Fatal(err)
		}
		if dec, diag := cedar.Authorize(policy.BarePolicySet(e), ents, creq); (dec == cedar.Allow) != want.Allow || !want.Allow || len(diag.Errors) > 0 {
			b.Fatalf("n=%d: engine %v, cedar-go %v %v; want both to allow", n, want, dec, diag)
		}
	}
	for _, n := range sizes {
		e := engines[n]
		req := benchRequest()
		b.Run(fmt.Sprintf("passport/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Decide(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// The same, with an argument that differs on every call, so that the
	// context cache never hits: the cost of building the context.
	for _, n := range sizes {
		e := engines[n]
		req := benchRequest()
		args := map[string]any{"amount": 0}
		req.Args = args
		b.Run(fmt.Sprintf("passport-distinct-args/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				args["amount"] = -i // never twice
				if _, err := e.Decide(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, n := range sizes {
		e := engines[n]
		ps := policy.BarePolicySet(e)
		creq, ents, err := policy.CedarInputs(e, benchRequest())
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("cedar-go/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				cedar.Authorize(ps, ents, creq)
			}
		})
	}
}
