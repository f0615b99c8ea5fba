package audit_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/audit"
)

// BenchmarkRecord compares recording a tool call with identity
// attributes against a bare OTel SDK span with as many attributes, both
// through the same batch processor; and the recorder with tracing off.
func BenchmarkRecord(b *testing.B) {
	newTP := func() *sdktrace.TracerProvider {
		return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter(), sdktrace.WithMaxQueueSize(1<<16))))
	}
	ctx := agentid.NewContext(context.Background(), caller)

	b.Run("passport", func(b *testing.B) {
		tp := newTP()
		defer tp.Shutdown(context.Background())
		r, err := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(tp))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, c := r.StartTool(ctx, "refund")
			c.End(nil)
		}
	})
	b.Run("otel-sdk", func(b *testing.B) {
		tp := newTP()
		defer tp.Shutdown(context.Background())
		tracer := tp.Tracer("bench")
		b.ReportAllocs()
		for b.Loop() {
			// The same ten attributes the recorder sets.
			_, span := tracer.Start(ctx, "execute_tool refund", trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(
				attribute.String("gen_ai.operation.name", "execute_tool"),
				attribute.String("gen_ai.agent.id", ordersAgent.AgentID),
				attribute.String("gen_ai.agent.name", ordersAgent.Name),
				attribute.String("microsoft.tenant.id", ordersAgent.TenantID),
				attribute.String("microsoft.a365.agent.blueprint.id", ordersAgent.BlueprintID),
				attribute.String("gen_ai.tool.name", "refund"),
				attribute.String("user.id", "psn:5d41402abc4b2a76b9719d911017c592"),
				attribute.Int("passport.delegation.depth", 1),
				attribute.String("passport.agent.kind", "delegated"),
			))
			span.End()
		}
	})
	b.Run("passport-global-unset", func(b *testing.B) {
		r, err := audit.NewRecorder(ordersAgent)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, c := r.StartTool(ctx, "refund")
			c.End(nil)
		}
	})
	b.Run("passport-noop", func(b *testing.B) {
		r, err := audit.NewRecorder(ordersAgent, audit.WithTracerProvider(noop.NewTracerProvider()))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_, c := r.StartTool(ctx, "refund")
			c.End(nil)
		}
	})
}
