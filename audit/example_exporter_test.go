package audit_test

import (
	"context"
	"fmt"
	"os"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// An exporter with a spool, under a batch span processor, reporting to a
// local registry that is down for a while.
func ExampleExporter() {
	reg, err := agentidtest.StartRegistry()
	if err != nil {
		panic(err)
	}
	defer reg.Close()
	dir, err := os.MkdirTemp("", "audit-spool")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	exp, err := audit.NewExporter(reg.URL(), audit.WithSpool(dir, 64<<20), audit.WithRetry(1, 0))
	if err != nil {
		panic(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	tracer := tp.Tracer(telemetry.ScopeName)
	ctx := context.Background()

	reg.SetDown(true)
	_, span := tracer.Start(ctx, "execute_tool get_weather",
		trace.WithAttributes(attribute.String(telemetry.GenAIOperationName, telemetry.OpExecuteTool)))
	span.End()
	_ = tp.ForceFlush(ctx) // the registry is down: the batch goes to the spool
	fmt.Println("spooled:", exp.Stats().Spooled)

	reg.SetDown(false)
	if err := exp.ForceFlush(ctx); err != nil { // resend the spool now
		panic(err)
	}
	fmt.Println("resent:", exp.Stats().Resent, "received:", reg.SpanTotal())
	_ = tp.Shutdown(ctx)
	// Output:
	// spooled: 1
	// resent: 1 received: 1
}
