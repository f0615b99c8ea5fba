package audit_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// benchSpans records n execute_tool spans with 8 attributes each.
func benchSpans(b testing.TB, n int) []sdktrace.ReadOnlySpan {
	tr, rec := newRecorder(b)
	for i := range n {
		toolSpan(tr, testTenantID, testAgentID, "get_weather",
			attribute.String(telemetry.GenAIToolCallID, fmt.Sprintf("call_%08d", i)),
			attribute.String(telemetry.GenAIToolType, "function"),
			attribute.String(telemetry.GenAIConversationID, "conv-1234567890"),
			attribute.Int(telemetry.DelegationDepth, 1))
	}
	return rec.take()
}

// BenchmarkExport measures spans per second through ExportSpans to a
// local Registry, in batches of 512 spans of 8 attributes, with a bearer
// token from a credentials.Client (served from its cache).
func BenchmarkExport(b *testing.B) {
	const batch = 512
	for _, tc := range []struct {
		name string
		opts []audit.ExporterOption
	}{
		{"protobuf", nil},
		{"json", []audit.ExporterOption{audit.WithEncoding(audit.EncodingJSON)}},
		{"agent365", []audit.ExporterOption{audit.WithAgent365()}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			_, src := tokenSource(b)
			reg := agentidtest.NewRegistry(b)
			exp := newExporter(b, reg, append(tc.opts, audit.WithTokenSource(src, registryScope))...)
			spans := benchSpans(b, batch)
			ctx := context.Background()
			if err := exp.ExportSpans(ctx, spans); err != nil { // warm the token cache and connection
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := exp.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
				if i%16 == 15 {
					b.StopTimer()
					reg.Reset() // keeps the registry's memory bounded
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
