package audit_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

const (
	testAgentID  = "a1b2c3d4-0000-4000-8000-000000000001"
	testSecret   = "s3cr3t-value-for-the-exporter"
	testTenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// registryScope is the scope the exporter's token is asked for.
var registryScope = credentials.Request{Scopes: []string{"api://registry/.default"}}

// tokenSource starts an authority where testAgentID is registered and
// returns a client for it: tokens with azp = testAgentID.
func tokenSource(t testing.TB) (*agentidtest.Authority, *credentials.Client) {
	t.Helper()
	a := agentidtest.NewAuthority(t, agentidtest.WithTenantID(testTenantID))
	if err := a.RegisterClient(testAgentID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	sec, err := credentials.NewSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(credentials.Entra(a.TenantID(), credentials.WithAuthorityHost(a.URL())), testAgentID, credentials.ClientSecret(sec))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return a, c
}

// newExporter returns an exporter to reg that is shut down at cleanup.
func newExporter(t testing.TB, reg *agentidtest.Registry, opts ...audit.ExporterOption) *audit.Exporter {
	t.Helper()
	exp, err := audit.NewExporter(reg.URL(), opts...)
	if err != nil {
		t.Fatalf("NewExporter: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := exp.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return exp
}

// testResource is the resource of the test tracer providers.
var testResource = resource.NewSchemaless(
	attribute.String("service.name", "orders-agent"),
	attribute.String(telemetry.TenantID, testTenantID),
)

// recorder collects ended spans, so that tests make them with the real
// SDK and export them by hand.
type recorder struct {
	mu    sync.Mutex // guards spans
	spans []sdktrace.ReadOnlySpan
}

func (r *recorder) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (r *recorder) OnEnd(s sdktrace.ReadOnlySpan) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = append(r.spans, s)
}
func (r *recorder) Shutdown(context.Context) error   { return nil }
func (r *recorder) ForceFlush(context.Context) error { return nil }

func (r *recorder) take() []sdktrace.ReadOnlySpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.spans
	r.spans = nil
	return out
}

// newRecorder returns a tracer that records into a recorder.
func newRecorder(t testing.TB) (trace.Tracer, *recorder) {
	t.Helper()
	rec := &recorder{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(testResource))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer(telemetry.ScopeName+"/audit_test", trace.WithInstrumentationVersion(telemetry.Version)), rec
}

// toolSpan records an execute_tool span of agent in tenant and returns
// its span id.
func toolSpan(tr trace.Tracer, tenant, agent, tool string, extra ...attribute.KeyValue) string {
	attrs := append([]attribute.KeyValue{
		attribute.String(telemetry.GenAIOperationName, telemetry.OpExecuteTool),
		attribute.String(telemetry.GenAIToolName, tool),
		attribute.String(telemetry.GenAIAgentID, agent),
		attribute.String(telemetry.TenantID, tenant),
	}, extra...)
	_, span := tr.Start(context.Background(), telemetry.OpExecuteTool+" "+tool,
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	span.End()
	return span.SpanContext().SpanID().String()
}

// opSpan records a span of operation op.
func opSpan(tr trace.Tracer, op string, attrs ...attribute.KeyValue) string {
	attrs = append([]attribute.KeyValue{attribute.String(telemetry.GenAIOperationName, op)}, attrs...)
	_, span := tr.Start(context.Background(), op, trace.WithAttributes(attrs...))
	span.End()
	return span.SpanContext().SpanID().String()
}

// bodyRecorder is an HTTP transport that keeps a copy of every request
// body and header sent through it.
type bodyRecorder struct {
	mu      sync.Mutex // guards bodies, headers and urls
	bodies  [][]byte
	headers []http.Header
	urls    []string
}

func (b *bodyRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	_ = req.Body.Close()
	b.mu.Lock()
	b.bodies = append(b.bodies, data)
	b.headers = append(b.headers, req.Header.Clone())
	b.urls = append(b.urls, req.URL.String())
	b.mu.Unlock()
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(data))
	out.ContentLength = int64(len(data))
	return http.DefaultTransport.RoundTrip(out)
}

func (b *bodyRecorder) client() *http.Client {
	return &http.Client{Transport: b, Timeout: 30 * time.Second}
}

func (b *bodyRecorder) snapshot() (bodies [][]byte, headers []http.Header, urls []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.bodies...), append([]http.Header(nil), b.headers...), append([]string(nil), b.urls...)
}

// waitNoExporterGoroutines fails t if a goroutine of the audit package is
// still running 2 s after the call.
func waitNoExporterGoroutines(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		var left []string
		for _, g := range strings.Split(stacks, "\n\n") {
			if strings.Contains(g, "passport/audit.(*Exporter)") || strings.Contains(g, "passport/audit.(*spool)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("exporter goroutines left after Shutdown:\n%s", strings.Join(left, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// meters is a metric.MeterProvider that keeps the sums of Int64Counters.
type meters struct {
	embedded.MeterProvider
	mu   sync.Mutex // guards sums
	sums map[string]int64
}

func newMeters() *meters { return &meters{sums: map[string]int64{}} }

func (m *meters) Meter(string, ...metric.MeterOption) metric.Meter { return &meter{m: m} }

func (m *meters) sum(name string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sums[name]
}

type meter struct {
	noop.Meter
	m *meters
}

func (m *meter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return &intCounter{m: m.m, name: name}, nil
}

type intCounter struct {
	noop.Int64Counter
	m    *meters
	name string
}

func (c *intCounter) Add(_ context.Context, n int64, _ ...metric.AddOption) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	c.m.sums[c.name] += n
}

// ctxTimeout returns a context that ends after d or at the end of t.
func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
