package policy_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newEngine returns an engine over text, closed when the test ends.
func newEngine(t testing.TB, text string, opts ...policy.Option) *policy.Engine {
	t.Helper()
	e, err := policy.New(context.Background(), policy.FromString("test.cedar", text), opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// supportAgent is an autonomous agent of the support blueprint.
func supportAgent() policy.Subject {
	return policy.FromIdentity(agentid.Identity{
		TenantID:    "contoso",
		AgentID:     "agent-1",
		BlueprintID: "support",
		Name:        "Support agent",
		Kind:        agentid.Autonomous,
		Sponsors:    []string{"alice@contoso.com"},
	}, nil)
}

// decide decides req and fails the test on an error.
func decide(t testing.TB, d policy.Decider, req policy.Request) policy.Decision {
	t.Helper()
	dec, err := d.Decide(context.Background(), req)
	if err != nil {
		t.Fatalf("Decide(%s on %s) error = %v", req.Action, req.Resource, err)
	}
	return dec
}
