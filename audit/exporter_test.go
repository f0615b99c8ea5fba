package audit_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestExportWithBatchProcessor(t *testing.T) {
	_, src := tokenSource(t)
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg, audit.WithTokenSource(src, registryScope))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(10*time.Millisecond)), sdktrace.WithResource(testResource))
	tr := tp.Tracer(telemetry.ScopeName)
	var ids []string
	for i := range 50 {
		ids = append(ids, toolSpan(tr, testTenantID, testAgentID, "get_weather", attribute.Int("i", i)))
	}
	if err := tp.Shutdown(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("TracerProvider.Shutdown: %v", err)
	}
	for _, id := range ids {
		if n := reg.SpanCount(id); n != 1 {
			t.Errorf("SpanCount(%s) = %d, want 1", id, n)
		}
	}
	for _, r := range reg.Requests() {
		if r.Path != "/v1/traces" || r.ContentType != "application/x-protobuf" || !r.Authorization || r.Status != http.StatusOK {
			t.Errorf("request = %+v, want POST /v1/traces, protobuf, with a bearer token, answered 200", r)
		}
	}
	if s := exp.Stats(); s.Exported != 50 {
		t.Errorf("Stats().Exported = %d, want 50", s.Exported)
	}
	if err := exp.ExportSpans(context.Background(), nil); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("ExportSpans after Shutdown = %v, want ErrClosed", err)
	}
}

// TestEncodingsDecodeIdentically sends the same spans as protobuf and as
// JSON and compares what the receiver decoded.
func TestEncodingsDecodeIdentically(t *testing.T) {
	tr, rec := newRecorder(t)
	richSpans(tr)
	spans := rec.take()

	got := map[audit.Encoding][]agentidtest.ReceivedSpan{}
	for _, enc := range []audit.Encoding{audit.EncodingProtobuf, audit.EncodingJSON} {
		reg := agentidtest.NewRegistry(t)
		exp := newExporter(t, reg, audit.WithEncoding(enc))
		if err := exp.ExportSpans(context.Background(), spans); err != nil {
			t.Fatalf("ExportSpans(%v): %v", enc, err)
		}
		want := map[audit.Encoding]string{audit.EncodingProtobuf: "application/x-protobuf", audit.EncodingJSON: "application/json"}[enc]
		for _, r := range reg.Requests() {
			if r.ContentType != want {
				t.Errorf("%v: Content-Type = %q, want %q", enc, r.ContentType, want)
			}
		}
		got[enc] = reg.Spans()
	}
	if len(got[audit.EncodingProtobuf]) != len(spans) {
		t.Fatalf("protobuf: %d spans received, want %d", len(got[audit.EncodingProtobuf]), len(spans))
	}
	if diff := cmp.Diff(got[audit.EncodingProtobuf], got[audit.EncodingJSON], cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("JSON spans differ from protobuf spans (-protobuf +json):\n%s", diff)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg, audit.WithRetry(3, 10*time.Second))
	tr, rec := newRecorder(t)
	id := opSpan(tr, telemetry.OpChat)
	reg.ThrottleNext(1, time.Second)
	start := time.Now()
	if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("ExportSpans took %v after a 429 with Retry-After: 1, want at least 1s", d)
	}
	reqs := reg.Requests()
	if len(reqs) != 2 || reqs[0].Status != http.StatusTooManyRequests || reqs[1].Status != http.StatusOK {
		t.Errorf("requests = %+v, want a 429 then a 200", reqs)
	}
	if reg.SpanCount(id) != 1 {
		t.Errorf("SpanCount = %d, want 1", reg.SpanCount(id))
	}
}

func TestRetriesServerErrors(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg, audit.WithRetry(4, 5*time.Second))
	tr, rec := newRecorder(t)
	id := opSpan(tr, telemetry.OpChat)
	reg.FailNext(2, http.StatusServiceUnavailable)
	if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	if n := len(reg.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 (two 503, one 200)", n)
	}
	if reg.SpanCount(id) != 1 {
		t.Errorf("SpanCount = %d, want 1", reg.SpanCount(id))
	}
}

func TestBadRequestNotRetried(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	m := newMeters()
	dir := t.TempDir()
	exp := newExporter(t, reg, audit.WithRetry(4, 5*time.Second), audit.WithSpool(dir, 8<<20), audit.WithMeterProvider(m))
	tr, rec := newRecorder(t)
	opSpan(tr, telemetry.OpChat)
	opSpan(tr, telemetry.OpChat)
	reg.FailNext(1, http.StatusBadRequest)
	err := exp.ExportSpans(context.Background(), rec.take())
	var se *audit.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusBadRequest {
		t.Fatalf("ExportSpans = %v, want a *StatusError 400", err)
	}
	if n := len(reg.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 400 is not retried", n)
	}
	s := exp.Stats()
	if s.Rejected != 2 || s.Spooled != 0 || s.Pending != 0 {
		t.Errorf("Stats() = %+v, want 2 rejected, nothing spooled", s)
	}
	if got := m.sum("passport.audit.spans.rejected"); got != 2 {
		t.Errorf("metric passport.audit.spans.rejected = %d, want 2", got)
	}
}

func TestPartialSuccess(t *testing.T) {
	for _, enc := range []audit.Encoding{audit.EncodingProtobuf, audit.EncodingJSON} {
		t.Run(enc.String(), func(t *testing.T) {
			reg := agentidtest.NewRegistry(t)
			exp := newExporter(t, reg, audit.WithEncoding(enc))
			tr, rec := newRecorder(t)
			for range 5 {
				opSpan(tr, telemetry.OpChat)
			}
			reg.PartialSuccessNext(1, 2, "2 spans too old")
			err := exp.ExportSpans(context.Background(), rec.take())
			var pe *audit.PartialSuccessError
			if !errors.As(err, &pe) {
				t.Fatalf("ExportSpans = %v, want a *PartialSuccessError", err)
			}
			if pe.Rejected != 2 || pe.Message != "2 spans too old" {
				t.Errorf("PartialSuccessError = %+v, want Rejected 2, Message %q", pe, "2 spans too old")
			}
			if s := exp.Stats(); s.Exported != 3 || s.Rejected != 2 {
				t.Errorf("Stats() = %+v, want 3 exported, 2 rejected", s)
			}
			if n := len(reg.Requests()); n != 1 {
				t.Errorf("%d requests, want 1: rejected spans are not sent again", n)
			}
		})
	}
}

func TestFailureWithoutSpool(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	exp := newExporter(t, reg, audit.WithRetry(2, time.Second))
	tr, rec := newRecorder(t)
	opSpan(tr, telemetry.OpChat)
	reg.SetDown(true)
	err := exp.ExportSpans(context.Background(), rec.take())
	if err == nil {
		t.Fatal("ExportSpans with the registry down = nil, want an error")
	}
	if s := exp.Stats(); s.Failed != 1 {
		t.Errorf("Stats().Failed = %d, want 1", s.Failed)
	}
}

func TestShutdownDuringOutage(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	reg.SetLatency(time.Minute) // requests hang
	dir := t.TempDir()
	exp, err := audit.NewExporter(reg.URL(), audit.WithSpool(dir, 8<<20), audit.WithRetry(10, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	tr, rec := newRecorder(t)
	opSpan(tr, telemetry.OpChat)
	done := make(chan error, 1)
	go func() { done <- exp.ExportSpans(context.Background(), rec.take()) }()
	time.Sleep(100 * time.Millisecond) // the request is in flight
	start := time.Now()
	if err := exp.Shutdown(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v during an outage, want it prompt", d)
	}
	if err := <-done; err != nil {
		t.Errorf("ExportSpans interrupted by Shutdown = %v, want nil (the body is spooled)", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown = %v, want nil", err)
	}
	waitNoExporterGoroutines(t)

	// The body cut short by Shutdown was spooled: a new exporter sends it.
	reg.SetLatency(0)
	exp2 := newExporter(t, reg, audit.WithSpool(dir, 8<<20))
	if err := exp2.ForceFlush(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if got := reg.SpanTotal(); got < 1 {
		t.Errorf("SpanTotal = %d, want the spooled span", got)
	}
}

func TestEndpointChecks(t *testing.T) {
	for _, tc := range []struct {
		name     string
		endpoint string
		opts     []audit.ExporterOption
		ok       bool
	}{
		{"https", "https://registry.example.com", nil, true},
		{"loopback http", "http://127.0.0.1:4318", nil, true},
		{"localhost http", "http://localhost:4318/", nil, true},
		{"plain http", "http://registry.example.com", nil, false},
		{"plain http allowed", "http://registry.example.com", []audit.ExporterOption{audit.WithInsecureHTTP()}, true},
		{"other scheme", "ftp://registry.example.com", nil, false},
		{"query", "https://registry.example.com/?a=b", nil, false},
		{"agent365 without token", "https://registry.example.com", []audit.ExporterOption{audit.WithAgent365()}, false},
		{"body bound too small", "https://registry.example.com", []audit.ExporterOption{audit.WithMaxBodyBytes(100)}, false},
		{"span bound over half the body", "https://registry.example.com", []audit.ExporterOption{audit.WithMaxSpanBytes(900 << 10)}, false},
		{"spool smaller than a body", "https://registry.example.com", []audit.ExporterOption{audit.WithSpool(t.TempDir(), 1000)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp, err := audit.NewExporter(tc.endpoint, tc.opts...)
			if (err == nil) != tc.ok {
				t.Fatalf("NewExporter(%q) error = %v, want ok %v", tc.endpoint, err, tc.ok)
			}
			if exp != nil {
				_ = exp.Shutdown(context.Background())
			}
		})
	}
}

func TestSpoolDirectoryLocked(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	newExporter(t, reg, audit.WithSpool(dir, 8<<20))
	_, err := audit.NewExporter(reg.URL(), audit.WithSpool(dir, 8<<20))
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second NewExporter on the same spool = %v, want an error", err)
	}
}
