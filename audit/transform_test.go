package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

var linkedContext = trace.NewSpanContext(trace.SpanContextConfig{
	TraceID:    trace.TraceID{0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	SpanID:     trace.SpanID{0x0b, 1, 2, 3, 4, 5, 6, 7},
	TraceFlags: trace.FlagsSampled,
	Remote:     true,
})

// richSpans records a parent invoke_agent span and a child execute_tool
// span with every attribute type, an event, a link and an error status.
func richSpans(tr trace.Tracer) (parentID, childID string) {
	ctx, parent := tr.Start(context.Background(), "invoke_agent orders", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String(telemetry.GenAIOperationName, telemetry.OpInvokeAgent),
			attribute.String(telemetry.GenAIAgentID, testAgentID),
			attribute.String(telemetry.TenantID, testTenantID),
		))
	_, child := tr.Start(ctx, "execute_tool get_weather", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: linkedContext, Attributes: []attribute.KeyValue{attribute.String("link.kind", "caused_by")}}),
		trace.WithAttributes(
			attribute.String(telemetry.GenAIOperationName, telemetry.OpExecuteTool),
			attribute.Bool("b", true),
			attribute.Int64("i", -42),
			attribute.Float64("f", 2.5),
			attribute.String("s", "héllo"),
			attribute.BoolSlice("bs", []bool{true, false}),
			attribute.Int64Slice("is", []int64{1, 2, 3}),
			attribute.Float64Slice("fs", []float64{0.5, 1.5}),
			attribute.StringSlice("ss", []string{"a", "b"}),
			attribute.ByteSlice("bytes", []byte{0, 1, 255}),
			attribute.Slice("mixed", attribute.IntValue(7), attribute.StringValue("x")),
			attribute.Map("m", attribute.String("k", "v"), attribute.Int("n", 1)),
			attribute.String("invalid.utf8", "a\xffb"),
		))
	child.AddEvent("tool.called", trace.WithAttributes(attribute.String("arg", "Paris")), trace.WithTimestamp(time.Unix(1700000000, 5)))
	child.SetStatus(codes.Error, "tool failed")
	child.End()
	parent.SetStatus(codes.Ok, "")
	parent.End()
	return parent.SpanContext().SpanID().String(), child.SpanContext().SpanID().String()
}

func TestTransformFidelity(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg)
	tr, rec := newRecorder(t)
	parentID, childID := richSpans(tr)
	spans := rec.take()
	if err := exp.ExportSpans(context.Background(), spans); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	got := map[string]agentidtest.ReceivedSpan{}
	for _, s := range reg.Spans() {
		got[s.SpanID] = s
	}
	parent, child := got[parentID], got[childID]
	if parent.Kind != trace.SpanKindServer || child.Kind != trace.SpanKindClient {
		t.Errorf("kinds = %v, %v, want server, client", parent.Kind, child.Kind)
	}
	if child.ParentSpanID != parentID || child.TraceID != parent.TraceID || parent.ParentSpanID != "" {
		t.Errorf("child parent = %s trace %s; parent trace %s parent %q: want the child under the parent", child.ParentSpanID, child.TraceID, parent.TraceID, parent.ParentSpanID)
	}
	if parent.StatusCode != "Ok" || child.StatusCode != "Error" || child.StatusMessage != "tool failed" {
		t.Errorf("statuses = %s, %s %q; want Ok, Error \"tool failed\"", parent.StatusCode, child.StatusCode, child.StatusMessage)
	}
	wantAttrs := map[string]any{
		telemetry.GenAIOperationName: telemetry.OpExecuteTool,
		"b":                          true,
		"i":                          int64(-42),
		"f":                          2.5,
		"s":                          "héllo",
		"bs":                         []any{true, false},
		"is":                         []any{int64(1), int64(2), int64(3)},
		"fs":                         []any{0.5, 1.5},
		"ss":                         []any{"a", "b"},
		"bytes":                      []byte{0, 1, 255},
		"mixed":                      []any{int64(7), "x"},
		"m":                          map[string]any{"k": "v", "n": int64(1)},
		"invalid.utf8":               "a\uFFFDb",
	}
	if diff := cmp.Diff(wantAttrs, child.Attributes); diff != "" {
		t.Errorf("attributes mismatch (-want +got):\n%s", diff)
	}
	wantEvents := []agentidtest.ReceivedEvent{{Name: "tool.called", Time: time.Unix(1700000000, 5), Attributes: map[string]any{"arg": "Paris"}}}
	if diff := cmp.Diff(wantEvents, child.Events); diff != "" {
		t.Errorf("events mismatch (-want +got):\n%s", diff)
	}
	wantLinks := []agentidtest.ReceivedLink{{TraceID: linkedContext.TraceID().String(), SpanID: linkedContext.SpanID().String(), Attributes: map[string]any{"link.kind": "caused_by"}}}
	if diff := cmp.Diff(wantLinks, child.Links); diff != "" {
		t.Errorf("links mismatch (-want +got):\n%s", diff)
	}
	if child.Resource["service.name"] != "orders-agent" || child.Scope != telemetry.ScopeName+"/audit_test" || child.ScopeVersion != telemetry.Version {
		t.Errorf("resource %v, scope %s %s: want the tracer provider's", child.Resource, child.Scope, child.ScopeVersion)
	}
	if !child.StartTime.Equal(spans[0].StartTime()) || !child.EndTime.Equal(spans[0].EndTime()) {
		t.Errorf("times = %v–%v, want %v–%v", child.StartTime, child.EndTime, spans[0].StartTime(), spans[0].EndTime())
	}
}

func TestExportAfterShutdownIsErrClosed(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	exp, err := audit.NewExporter(reg.URL())
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := exp.ForceFlush(context.Background()); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("ForceFlush after Shutdown = %v, want ErrClosed", err)
	}
}
