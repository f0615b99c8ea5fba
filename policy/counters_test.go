package policy_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/policy"
)

const counterPolicies = `
@id("tools")
permit (principal, action == Action::"invoke_tool", resource);

@id("refund-rate")
forbid (principal, action, resource == Tool::"refund") when { context.counters.per_minute > 3 };

@id("spend")
forbid (principal, action, resource) when { context.counters.spend > 500 };
`

func counterEngine(t testing.TB, c *clock, opts ...policy.Option) *policy.Engine {
	t.Helper()
	return newEngine(t, counterPolicies, append([]policy.Option{
		policy.WithClock(c.Now),
		policy.WithArgument("amount", policy.ArgLong),
		policy.WithRateCounter("per_minute", time.Minute),
		policy.WithTotalCounter("spend", "amount"),
	}, opts...)...)
}

func call(agent, tool, session string, amount int) policy.Request {
	s := supportAgent()
	s.Agent.ID, s.Session = agent, session
	req := policy.Request{Subject: s, Action: policy.InvokeTool, Resource: policy.Tool(tool)}
	if amount != 0 {
		req.Args = map[string]any{"amount": amount}
	}
	return req
}

func TestRateCounterSlidingWindow(t *testing.T) {
	c := newClock()
	e := counterEngine(t, c)
	steps := []struct {
		advance time.Duration
		req     policy.Request
		allow   bool
	}{
		{0, call("a", "refund", "", 0), true},                 // t=0s, 1 in window
		{20 * time.Second, call("a", "refund", "", 0), true},  // t=20s, 2
		{20 * time.Second, call("a", "refund", "", 0), true},  // t=40s, 3
		{10 * time.Second, call("a", "refund", "", 0), false}, // t=50s, would be 4
		{0, call("a", "refund", "", 0), false},                // denied calls are not counted
		{0, call("b", "refund", "", 0), true},                 // another agent
		{0, call("a", "lookup", "", 0), true},                 // another tool
		{11 * time.Second, call("a", "refund", "", 0), true},  // t=61s: the call at 0s left the window
		{0, call("a", "refund", "", 0), false},                // 20s, 40s, 61s in the window
		{time.Hour, call("a", "refund", "", 0), true},         // all expired
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if got := decide(t, e, s.req); got.Allow != s.allow {
			t.Errorf("step %d: Decide(%s by %s) = %v, want allow %v", i, s.req.Resource, s.req.Subject.Agent.ID, got, s.allow)
		}
	}
}

func TestTotalCounterPerSession(t *testing.T) {
	c := newClock()
	e := counterEngine(t, c, policy.WithSessionTTL(time.Hour))
	steps := []struct {
		advance time.Duration
		req     policy.Request
		allow   bool
	}{
		{0, call("a", "pay", "s1", 200), true},             // 200
		{0, call("a", "pay", "s1", 200), true},             // 400
		{0, call("a", "pay", "s1", 150), false},            // 550 > 500: denied, not added
		{0, call("a", "pay", "s1", 100), true},             // 500
		{0, call("a", "pay", "s2", 450), true},             // another session
		{0, call("b", "pay", "s1", 450), true},             // another agent
		{0, call("a", "pay", "s1", 1), false},              // 501
		{0, call("a", "lookup", "s1", 0), true},            // no amount: adds nothing
		{2 * time.Hour, call("a", "pay", "s1", 400), true}, // the session expired
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if got := decide(t, e, s.req); got.Allow != s.allow {
			t.Errorf("step %d: Decide(%v in %s) = %v, want allow %v", i, s.req.Args, s.req.Subject.Session, got, s.allow)
		}
	}
}

func TestCountersBounded(t *testing.T) {
	c := newClock()
	e := counterEngine(t, c, policy.WithCounterLimits(100, 2))
	for i := range 1000 {
		decide(t, e, call(fmt.Sprint("agent-", i), "lookup", "s", 1))
	}
	if got := policy.CounterKeys(e); got > 100 {
		t.Errorf("counters hold %d keys, want at most 100", got)
	}
	// With 2 events remembered per key, the rate never reads above 3,
	// so the rate limit of 3 never trips: the bound is documented.
	for i := range 10 {
		if d := decide(t, e, call("x", "refund", "", 0)); !d.Allow {
			t.Fatalf("call %d denied (%v): the rate read more events than it keeps", i, d)
		}
	}
}

func TestReportOnlyCallsAreCounted(t *testing.T) {
	c := newClock()
	e := counterEngine(t, c, policy.WithMode(policy.ReportOnly))
	for i := range 5 {
		d := decide(t, e, call("a", "refund", "", 0))
		if !d.Allow || d.WouldDeny != (i >= 3) || d.Mode != policy.ReportOnly {
			t.Errorf("call %d: Decide() = %v, want allow, report-only, would deny from the fourth call", i, d)
		}
	}
}

func TestCountersConcurrentSafe(t *testing.T) {
	c := newClock()
	e := counterEngine(t, c, policy.WithCounterLimits(50, 10))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if _, err := e.Decide(context.Background(), call(fmt.Sprint("agent-", (g*7+i)%80), "refund", fmt.Sprint("s", i%3), i%7)); err != nil {
					t.Error(err)
					return
				}
				if i%50 == 0 {
					c.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if got := policy.CounterKeys(e); got > 50 {
		t.Errorf("counters hold %d keys, want at most 50", got)
	}
}
