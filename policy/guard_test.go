package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentpassport/passport/policy"
)

const guardPolicies = `
@id("tools")
permit (principal in Blueprint::"support", action == Action::"invoke_tool", resource);

@id("refund-limit")
forbid (principal, action, resource == Tool::"refund") when { context.args has amount && context.args.amount > 100 };
`

type refundArgs struct {
	Order  string `json:"order"`
	Amount int    `json:"amount"`
}

type taggedArgs struct{ amount int }

func (a taggedArgs) PolicyArgs() map[string]any { return map[string]any{"amount": a.amount} }

func TestGuard(t *testing.T) {
	e := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong))
	var calls []refundArgs
	refund := policy.Guard(e, policy.Tool("refund"), func(_ context.Context, a refundArgs) (string, error) {
		calls = append(calls, a)
		return "refunded " + a.Order, nil
	})
	ctx := policy.NewContext(context.Background(), supportAgent())

	got, err := refund(ctx, refundArgs{Order: "o-1", Amount: 100})
	if err != nil || got != "refunded o-1" {
		t.Errorf("refund(100) = %q, %v, want refunded o-1", got, err)
	}
	got, err = refund(ctx, refundArgs{Order: "o-2", Amount: 101})
	var de *policy.DeniedError
	if !errors.Is(err, policy.ErrDenied) || !errors.As(err, &de) || got != "" {
		t.Fatalf("refund(101) = %q, %v, want a *DeniedError", got, err)
	}
	if de.Action != policy.InvokeTool || de.Resource.ID != "refund" || !slices.Equal(de.Decision.Reasons, []string{"refund-limit"}) {
		t.Errorf("DeniedError = %+v, want invoke_tool on refund denied by refund-limit", de)
	}
	if diff := cmp.Diff([]refundArgs{{"o-1", 100}}, calls); diff != "" {
		t.Errorf("the tool ran for (-want +got):\n%s", diff)
	}
	if _, err := refund(context.Background(), refundArgs{Order: "o-3"}); !errors.Is(err, policy.ErrInvalidRequest) {
		t.Errorf("refund() without a subject error = %v, want ErrInvalidRequest", err)
	}
}

func TestGuardArguments(t *testing.T) {
	e := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong))
	ctx := policy.NewContext(context.Background(), supportAgent())
	ok := func(context.Context, any) (bool, error) { return true, nil }
	tests := []struct {
		name  string
		args  any
		allow bool
	}{
		{"map", map[string]any{"amount": 500}, false},
		{"struct through JSON", refundArgs{Amount: 500}, false},
		{"pointer to struct", &refundArgs{Amount: 5}, true},
		{"Arguments", taggedArgs{amount: 500}, false},
		{"raw JSON", json.RawMessage(`{"amount": 500}`), false},
		{"no arguments", nil, true},
		{"not an object", 42, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool := policy.Guard(e, policy.Tool("refund"), ok)
			got, err := tool(ctx, tt.args)
			if got != tt.allow || (err == nil) != tt.allow {
				t.Errorf("tool(%v) = %v, %v, want allowed %v", tt.args, got, err, tt.allow)
			}
		})
	}
}

func TestGuardDefaultSubjectAndFailClosed(t *testing.T) {
	e := newEngine(t, guardPolicies)
	ran := false
	tool := func(context.Context, string) (string, error) { ran = true; return "ok", nil }
	lookup := policy.Guard(e, policy.Resource{ID: "lookup"}, tool, policy.WithDefaultSubject(supportAgent()))
	if got, err := lookup(context.Background(), "x"); err != nil || got != "ok" {
		t.Errorf("lookup() with the default subject = %q, %v, want ok", got, err)
	}

	ran = false
	boom := errors.New("registry down")
	failing := policy.DeciderFunc(func(context.Context, policy.Request) (policy.Decision, error) { return policy.Decision{}, boom })
	guarded := policy.Guard(failing, policy.Tool("lookup"), tool, policy.WithDefaultSubject(supportAgent()))
	if _, err := guarded(context.Background(), "x"); !errors.Is(err, boom) || ran {
		t.Errorf("guarded() with a failing decider = %v (tool ran: %v), want the decider's error and no call", err, ran)
	}
}

func TestGuardReportOnly(t *testing.T) {
	var seen []policy.Decision
	e := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong), policy.WithMode(policy.ReportOnly),
		policy.WithObserver(func(_ context.Context, _ policy.Request, d policy.Decision) { seen = append(seen, d) }))
	refund := policy.Guard(e, policy.Tool("refund"), func(context.Context, refundArgs) (string, error) { return "refunded", nil })
	got, err := refund(policy.NewContext(context.Background(), supportAgent()), refundArgs{Amount: 1000})
	if err != nil || got != "refunded" {
		t.Errorf("refund(1000) in report-only mode = %q, %v, want the call to go ahead", got, err)
	}
	want := []policy.Decision{{Allow: true, WouldDeny: true, Reasons: []string{"refund-limit"}, Mode: policy.ReportOnly}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("observed decisions mismatch (-want +got):\n%s", diff)
	}
}

func TestAll(t *testing.T) {
	enforced := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong))
	trial := newEngine(t, `
@id("baseline") permit (principal, action, resource);
@id("trial-small-refunds") forbid (principal, action, resource == Tool::"refund") when { context.args has amount && context.args.amount > 10 };
`, policy.WithArgument("amount", policy.ArgLong), policy.WithMode(policy.ReportOnly))
	d := policy.All(enforced, trial)
	req := func(amount int) policy.Request {
		return policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("refund"), Args: map[string]any{"amount": amount}}
	}
	tests := []struct {
		amount int
		want   policy.Decision
	}{
		{5, policy.Decision{Allow: true, Reasons: []string{"tools"}}},
		{50, policy.Decision{Allow: true, WouldDeny: true, Mode: policy.ReportOnly, Reasons: []string{"trial-small-refunds"}}},
		{500, policy.Decision{WouldDeny: true, Reasons: []string{"refund-limit"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, decide(t, d, req(tt.amount))); diff != "" {
			t.Errorf("All().Decide(refund %d) mismatch (-want +got):\n%s", tt.amount, diff)
		}
	}
	boom := errors.New("boom")
	failing := policy.DeciderFunc(func(context.Context, policy.Request) (policy.Decision, error) { return policy.Decision{}, boom })
	if _, err := policy.All(enforced, failing).Decide(context.Background(), req(5)); !errors.Is(err, boom) {
		t.Errorf("All() with a failing decider error = %v, want it", err)
	}
}

func TestReportOnlyIsTraced(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	e := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong), policy.WithMode(policy.ReportOnly))

	ctx, span := tp.Tracer("test").Start(context.Background(), "execute_tool refund")
	d, err := e.Decide(ctx, policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("refund"), Args: map[string]any{"amount": 1000}})
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	if !d.Allow || !d.WouldDeny {
		t.Fatalf("Decide() = %v, want allow, would deny", d)
	}
	spans := rec.Ended()
	if len(spans) != 1 || len(spans[0].Events()) != 1 {
		t.Fatalf("recorded %d spans, want 1 with one event", len(spans))
	}
	ev := spans[0].Events()[0]
	got := map[string]string{"name": ev.Name}
	for _, kv := range ev.Attributes {
		got[string(kv.Key)] = kv.Value.String()
	}
	want := map[string]string{
		"name":                       "policy_decision",
		"gen_ai.operation.name":      "policy_decision",
		"passport.policy.decision":   "allow",
		"passport.policy.would_deny": "true",
		"passport.policy.mode":       "report_only",
		"passport.policy.ids":        `["refund-limit"]`,
		"passport.policy.action":     "invoke_tool",
		"passport.policy.resource":   `Tool::"refund"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision event mismatch (-want +got):\n%s", diff)
	}
}

func TestDecisionSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	e := newEngine(t, guardPolicies, policy.WithArgument("amount", policy.ArgLong), policy.WithTracerProvider(tp))

	ctx, caller := tp.Tracer("test").Start(context.Background(), "execute_tool refund")
	d, err := e.Decide(ctx, policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("refund"), Args: map[string]any{"amount": 1000}})
	caller.End()
	if err != nil {
		t.Fatal(err)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want the decision span and its caller", len(spans))
	}
	ds := spans[0]
	if ds.Name() != "policy_decision invoke_tool" || ds.Parent().SpanID() != caller.SpanContext().SpanID() {
		t.Errorf("decision span %q, parent %v; want policy_decision invoke_tool, child of the caller", ds.Name(), ds.Parent().SpanID())
	}
	got := map[string]string{}
	for _, kv := range ds.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	want := map[string]string{
		"gen_ai.operation.name":      "policy_decision",
		"passport.policy.decision":   "deny",
		"passport.policy.would_deny": "true",
		"passport.policy.mode":       "enforce",
		"passport.policy.ids":        `["refund-limit"]`,
		"passport.policy.action":     "invoke_tool",
		"passport.policy.resource":   `Tool::"refund"`,
	}
	if diff := cmp.Diff(want, got); diff != "" || d.Allow {
		t.Errorf("decision span attributes mismatch (-want +got):\n%s", diff)
	}
}
