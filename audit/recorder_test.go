package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/audit"
)

var ordersAgent = agentid.Identity{
	TenantID:    "72f988bf-86f1-41af-91ab-2d7cd011db47",
	AgentID:     "a9a9a9a9-0000-4000-8000-000000000002",
	BlueprintID: "b1b1b1b1-0000-4000-8000-000000000001",
	Name:        "orders-agent",
	Kind:        agentid.Autonomous,
}

// caller is the user who called the agent, through one other agent.
var caller = &agentid.Principal{
	Subject: "user-sub", UserID: "0e0e0e0e-user", Kind: agentid.Delegated,
	Actors: []agentid.Actor{{Subject: "gateway-agent"}},
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestRecorderSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	r, err := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(tp), audit.WithPseudonymKey([]byte("0123456789abcdef0123456789abcdef")), audit.WithAgentVersion("1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := agentid.NewContext(context.Background(), caller)
	ctx, inv := r.StartInvocation(ctx, audit.ConversationID("conv-1"))
	_, tool := r.StartTool(ctx, "refund", audit.ToolCallID("call-7"), audit.ToolType("function"))
	tool.End(errors.New("card declined"))
	inv.End(nil)

	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2", len(spans))
	}
	toolSpan, invSpan := spans[0], spans[1]
	if toolSpan.Parent().SpanID() != invSpan.SpanContext().SpanID() {
		t.Error("the tool span is not a child of the invocation span")
	}
	pseudonym := spanAttrs(toolSpan)["user.id"]
	if !strings.HasPrefix(pseudonym, "psn:") || strings.Contains(pseudonym, caller.UserID) {
		t.Errorf("user.id = %q, want a pseudonym", pseudonym)
	}
	common := map[string]string{
		"gen_ai.agent.id": ordersAgent.AgentID, "gen_ai.agent.name": "orders-agent", "gen_ai.agent.version": "1.2.0",
		"microsoft.tenant.id": ordersAgent.TenantID, "microsoft.a365.agent.blueprint.id": ordersAgent.BlueprintID,
		"user.id": pseudonym, "passport.delegation.depth": "1", "passport.agent.kind": "delegated",
	}
	wantTool := map[string]string{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "refund", "gen_ai.tool.call.id": "call-7", "gen_ai.tool.type": "function", "error.type": "*errors.errorString"}
	wantInv := map[string]string{"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-1"}
	for k, v := range common {
		wantTool[k], wantInv[k] = v, v
	}
	if diff := cmp.Diff(wantTool, spanAttrs(toolSpan)); diff != "" || toolSpan.Name() != "execute_tool refund" {
		t.Errorf("tool span %q attributes mismatch (-want +got):\n%s", toolSpan.Name(), diff)
	}
	if diff := cmp.Diff(wantInv, spanAttrs(invSpan)); diff != "" || invSpan.Name() != "invoke_agent orders-agent" {
		t.Errorf("invocation span %q attributes mismatch (-want +got):\n%s", invSpan.Name(), diff)
	}
	if toolSpan.Status().Description != "" {
		t.Errorf("the error message reached the span: %q", toolSpan.Status().Description)
	}

	// The same key gives the same pseudonym; another key another.
	r2, _ := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(tp), audit.WithPseudonymKey([]byte("0123456789abcdef0123456789abcdef")))
	r3, _ := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(tp), audit.WithPseudonymKey([]byte("another key, at least 16 bytes")))
	for _, rr := range []*audit.Recorder{r2, r3} {
		_, c := rr.StartTool(ctx, "x")
		c.End(nil)
	}
	spans = rec.Ended()
	if got := spanAttrs(spans[2])["user.id"]; got != pseudonym {
		t.Errorf("same key: user.id = %q, want %q", got, pseudonym)
	}
	if got := spanAttrs(spans[3])["user.id"]; got == pseudonym {
		t.Error("another key gave the same pseudonym")
	}
}

func TestRecorderRawUserIDs(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	r, err := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(tp), audit.WithRawUserIDs())
	if err != nil {
		t.Fatal(err)
	}
	_, c := r.StartTool(agentid.NewContext(context.Background(), caller), "lookup")
	c.End(nil)
	if got := spanAttrs(rec.Ended()[0])["user.id"]; got != caller.UserID {
		t.Errorf("user.id = %q, want the raw id %q", got, caller.UserID)
	}
}

func TestNewRecorderValidates(t *testing.T) {
	if _, err := audit.NewRecorder(agentid.Identity{}); err == nil {
		t.Error("NewRecorder without an agent id = nil error")
	}
	if _, err := audit.NewRecorder(ordersAgent, audit.WithPseudonymKey([]byte("short"))); err == nil {
		t.Error("NewRecorder with a short pseudonym key = nil error")
	}
}

func TestRecorderNoopProvider(t *testing.T) {
	r, err := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(noop.NewTracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, c := r.StartTool(context.Background(), "x")
	c.End(errors.New("boom"))
	if ctx == nil {
		t.Fatal("nil context")
	}
}
