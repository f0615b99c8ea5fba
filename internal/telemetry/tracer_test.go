package telemetry

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestTracerFollowsTheGlobalProvider(t *testing.T) {
	g := NewTracer(nil, "test")
	if g.Get() != nil {
		t.Fatal("Get() with no global provider installed is not nil")
	}
	if NewTracer(noop.NewTracerProvider(), "test").Get() != nil {
		t.Error("Get() with a no-op provider is not nil")
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	if NewTracer(tp, "test").Get() == nil {
		t.Error("Get() with an SDK provider is nil")
	}
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	tr := g.Get()
	if tr == nil {
		t.Fatal("Get() after the global provider was set is nil")
	}
	_, span := tr.Start(context.Background(), "x")
	span.End()
	if len(rec.Ended()) != 1 || g.Get() != tr {
		t.Errorf("the global tracer did not record, or was not cached")
	}
}
