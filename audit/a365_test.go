package audit_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// bareRecorder records with a resource that has no tenant id.
func bareRecorder(t testing.TB) (trace.Tracer, *recorder) {
	rec := &recorder{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "bare"))))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer(telemetry.ScopeName), rec
}

func a365Path(tenant, agent string) string {
	return "/observability/tenants/" + url.PathEscape(tenant) + "/otlp/agents/" + url.PathEscape(agent) + "/traces?api-version=1"
}

func TestAgent365RoutingAndFilter(t *testing.T) {
	_, src := tokenSource(t)
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg, audit.WithAgent365(), audit.WithTokenSource(src, registryScope))
	tr, rec := bareRecorder(t)

	const otherTenant = "contoso tenant/ü"
	want := map[string]string{} // span id → tenant
	for _, op := range []string{telemetry.OpInvokeAgent, telemetry.OpExecuteTool, telemetry.OpChat, telemetry.OpOutputMessages, telemetry.OpApplyGuardrail} {
		for _, tenant := range []string{testTenantID, otherTenant} {
			id := opSpan(tr, op, attribute.String(telemetry.TenantID, tenant), attribute.String(telemetry.GenAIAgentID, testAgentID))
			want[id] = tenant
		}
	}
	// Not sent: other operations, no operation, no tenant, no agent.
	opSpan(tr, telemetry.OpAcquireToken, attribute.String(telemetry.TenantID, testTenantID), attribute.String(telemetry.GenAIAgentID, testAgentID))
	opSpan(tr, telemetry.OpPolicyDecision, attribute.String(telemetry.TenantID, testTenantID), attribute.String(telemetry.GenAIAgentID, testAgentID))
	opSpan(tr, "", attribute.String(telemetry.TenantID, testTenantID), attribute.String(telemetry.GenAIAgentID, testAgentID))
	opSpan(tr, telemetry.OpChat, attribute.String(telemetry.GenAIAgentID, testAgentID))
	opSpan(tr, telemetry.OpChat, attribute.String(telemetry.TenantID, testTenantID))

	if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	var paths []string
	for _, r := range reg.Requests() {
		paths = append(paths, r.Path)
		if !r.Authorization {
			t.Errorf("request to %s had no Authorization header", r.Path)
		}
	}
	slices.Sort(paths)
	wantPaths := []string{a365Path(otherTenant, testAgentID), a365Path(testTenantID, testAgentID)}
	slices.Sort(wantPaths)
	if !slices.Equal(paths, wantPaths) {
		t.Errorf("request paths = %q, want one per partition %q", paths, wantPaths)
	}
	got := reg.Spans()
	if len(got) != len(want) {
		t.Errorf("%d spans received, want %d", len(got), len(want))
	}
	for _, s := range got {
		if want[s.SpanID] != s.Tenant || s.Agent != testAgentID {
			t.Errorf("span %s (%s) arrived for tenant %q agent %q, want %q %q", s.SpanID, s.Name, s.Tenant, s.Agent, want[s.SpanID], testAgentID)
		}
	}
	if s := exp.Stats(); s.Filtered != 5 || s.Exported != int64(len(want)) {
		t.Errorf("Stats() = %+v, want 5 filtered, %d exported", s, len(want))
	}
}

func TestAgent365RefusesOtherAgents(t *testing.T) {
	_, src := tokenSource(t)
	reg := agentidtest.NewRegistry(t)
	m := newMeters()
	exp := newExporter(t, reg, audit.WithAgent365(), audit.WithTokenSource(src, registryScope), audit.WithMeterProvider(m))
	tr, rec := newRecorder(t)
	mine := toolSpan(tr, testTenantID, testAgentID, "lookup")
	toolSpan(tr, testTenantID, "someone-else", "lookup")
	toolSpan(tr, testTenantID, "someone-else", "lookup")
	err := exp.ExportSpans(context.Background(), rec.take())
	if !errors.Is(err, audit.ErrAgentMismatch) {
		t.Fatalf("ExportSpans = %v, want ErrAgentMismatch", err)
	}
	for _, r := range reg.Requests() {
		if strings.Contains(r.Path, "someone-else") {
			t.Errorf("a request was sent for the other agent: %s", r.Path)
		}
	}
	if reg.SpanCount(mine) != 1 {
		t.Errorf("the matching partition was not delivered")
	}
	if s := exp.Stats(); s.Refused != 2 || s.Exported != 1 {
		t.Errorf("Stats() = %+v, want 2 refused, 1 exported", s)
	}
	if got := m.sum("passport.audit.spans.refused"); got != 2 {
		t.Errorf("metric passport.audit.spans.refused = %d, want 2", got)
	}
}

// TestAgent365Split sends 3+ MiB of spans in one batch: they arrive in
// bodies of at most 1 MiB, every span exactly once.
func TestAgent365Split(t *testing.T) {
	for _, enc := range []audit.Encoding{audit.EncodingProtobuf, audit.EncodingJSON} {
		t.Run(enc.String(), func(t *testing.T) {
			_, src := tokenSource(t)
			reg := agentidtest.NewRegistry(t)
			exp := newExporter(t, reg, audit.WithAgent365(), audit.WithTokenSource(src, registryScope), audit.WithEncoding(enc))
			tr, rec := newRecorder(t)
			blob := strings.Repeat("0123456789abcdef", 10<<10/16) // 10 KiB
			var ids []string
			for i := range 320 {
				ids = append(ids, toolSpan(tr, testTenantID, testAgentID, "t", attribute.String("gen_ai.tool.call.result", blob), attribute.Int("i", i)))
			}
			if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
				t.Fatalf("ExportSpans: %v", err)
			}
			reqs := reg.Requests()
			if len(reqs) < 4 {
				t.Errorf("%d requests for 3.2 MiB of spans, want at least 4", len(reqs))
			}
			for _, r := range reqs {
				if r.Bytes > audit.DefaultMaxBodyBytes {
					t.Errorf("request of %d bytes, want at most %d", r.Bytes, audit.DefaultMaxBodyBytes)
				}
				if r.Bytes < audit.DefaultMaxBodyBytes/2 && r != reqs[len(reqs)-1] {
					t.Errorf("request of %d bytes before the last: bodies are not filled", r.Bytes)
				}
			}
			for _, id := range ids {
				if n := reg.SpanCount(id); n != 1 {
					t.Fatalf("SpanCount(%s) = %d, want 1", id, n)
				}
			}
		})
	}
}

// TestAgent365Truncation sends a span over 250 KiB among small ones: its
// largest strings are shortened and marked; the others are untouched.
func TestAgent365Truncation(t *testing.T) {
	for _, enc := range []audit.Encoding{audit.EncodingProtobuf, audit.EncodingJSON} {
		t.Run(enc.String(), func(t *testing.T) {
			_, src := tokenSource(t)
			reg := agentidtest.NewRegistry(t)
			exp := newExporter(t, reg, audit.WithAgent365(), audit.WithTokenSource(src, registryScope), audit.WithEncoding(enc))
			tr, rec := newRecorder(t)
			small := toolSpan(tr, testTenantID, testAgentID, "small", attribute.String("gen_ai.tool.call.result", strings.Repeat("s", 1000)))
			huge := strings.Repeat("é", 300<<10) // 600 KiB of two-byte runes
			big := toolSpan(tr, testTenantID, testAgentID, "big",
				attribute.String("gen_ai.output.messages", huge),
				attribute.String("gen_ai.input.messages", strings.Repeat("i", 200<<10)),
				attribute.String("gen_ai.tool.call.arguments", strings.Repeat("a", 2000)),
				attribute.Int("gen_ai.usage.output_tokens", 7))
			if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
				t.Fatalf("ExportSpans: %v", err)
			}
			var bigSpan, smallSpan agentidtest.ReceivedSpan
			for _, s := range reg.Spans() {
				switch s.SpanID {
				case big:
					bigSpan = s
				case small:
					smallSpan = s
				}
			}
			if bigSpan.Attributes[audit.AttrTruncated] != true {
				t.Fatalf("big span attributes lack %s = true", audit.AttrTruncated)
			}
			keys := bigSpan.Attributes[audit.AttrTruncatedKeys]
			for _, k := range []string{"gen_ai.output.messages", "gen_ai.input.messages"} {
				if !slices.Contains(keys.([]any), any(k)) {
					t.Errorf("%s = %v, want it to list %s", audit.AttrTruncatedKeys, keys, k)
				}
			}
			if got := bigSpan.Attributes["gen_ai.tool.call.arguments"]; got != strings.Repeat("a", 2000) {
				t.Errorf("a small attribute of the big span was shortened")
			}
			if bigSpan.Attributes["gen_ai.usage.output_tokens"] != int64(7) {
				t.Errorf("a number of the big span was lost")
			}
			// Both large strings are cut to about the same length, at a rune
			// boundary, and the span is used up to near its bound.
			out := bigSpan.Attributes["gen_ai.output.messages"].(string)
			in := bigSpan.Attributes["gen_ai.input.messages"].(string)
			if !strings.HasPrefix(huge, out) || !utf8.ValidString(out) || len(out) < 80<<10 || len(out) > 130<<10 {
				t.Errorf("truncated output is %d bytes, not a valid prefix of the original of about 120 KiB", len(out))
			}
			if d := len(out) - len(in); d < -16 || d > 16 {
				t.Errorf("truncated lengths %d and %d, want them equal: the largest strings shrink together", len(out), len(in))
			}
			if _, ok := smallSpan.Attributes[audit.AttrTruncated]; ok || len(smallSpan.Attributes["gen_ai.tool.call.result"].(string)) != 1000 {
				t.Errorf("the small span was changed")
			}
			for _, r := range reg.Requests() {
				if r.Bytes > audit.DefaultMaxSpanBytes+8<<10 {
					t.Errorf("request of %d bytes for spans bounded by %d", r.Bytes, audit.DefaultMaxSpanBytes)
				}
			}
		})
	}
}
