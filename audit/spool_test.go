package audit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// checkExactlyOnce fails t unless every id arrived exactly once and
// nothing else arrived.
func checkExactlyOnce(t *testing.T, reg *agentidtest.Registry, ids []string) {
	t.Helper()
	counts := reg.SpanCounts()
	bad := 0
	for _, id := range ids {
		if n := counts[id]; n != 1 {
			if bad++; bad <= 10 {
				t.Errorf("span %s arrived %d times, want 1", id, n)
			}
		}
	}
	if total := reg.SpanTotal(); total != len(ids) {
		t.Errorf("%d spans arrived, want %d", total, len(ids))
	}
}

// TestOutage runs a steady load through a batch span processor while the
// registry is down for a while: every span arrives exactly once.
func TestOutage(t *testing.T) {
	_, src := tokenSource(t)
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	exp := newExporter(t, reg, audit.WithSpool(dir, 64<<20), audit.WithRetry(2, 200*time.Millisecond),
		audit.WithTokenSource(src, registryScope))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(testResource), sdktrace.WithBatcher(exp,
		sdktrace.WithBatchTimeout(5*time.Millisecond), sdktrace.WithMaxExportBatchSize(64), sdktrace.WithBlocking()))
	tr := tp.Tracer(telemetry.ScopeName)

	var mu sync.Mutex // guards ids
	var ids []string
	stop := make(chan struct{})
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			id := toolSpan(tr, testTenantID, testAgentID, "lookup", attribute.Int("i", i))
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}
	}()
	time.Sleep(300 * time.Millisecond)
	reg.SetDown(true)
	time.Sleep(700 * time.Millisecond)
	downSpooled := exp.Stats().Spooled
	reg.SetDown(false)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	<-loaded

	if err := tp.ForceFlush(ctxTimeout(t, 20*time.Second)); err != nil {
		t.Fatalf("TracerProvider.ForceFlush: %v", err)
	}
	if err := exp.ForceFlush(ctxTimeout(t, 20*time.Second)); err != nil {
		t.Fatalf("Exporter.ForceFlush: %v", err)
	}
	if err := tp.Shutdown(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("TracerProvider.Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) < 300 {
		t.Fatalf("only %d spans recorded", len(ids))
	}
	checkExactlyOnce(t, reg, ids)
	s := exp.Stats()
	if downSpooled == 0 || s.Resent == 0 {
		t.Errorf("Stats() = %+v (%d spooled while down): the outage did not go through the spool", s, downSpooled)
	}
	if s.Exported+s.Resent != int64(len(ids)) || s.Dropped != 0 || s.Pending != 0 {
		t.Errorf("Stats() = %+v, want Exported+Resent = %d, nothing dropped or pending", s, len(ids))
	}
	t.Logf("%d spans, %+v", len(ids), s)
}

// spoolRecords exports n batches of per spans each with the registry
// down, each batch becoming one spool record, and returns the span ids
// by batch.
func spoolRecords(t *testing.T, reg *agentidtest.Registry, dir string, n, per int) [][]string {
	t.Helper()
	reg.SetDown(true)
	defer reg.SetDown(false)
	exp, err := audit.NewExporter(reg.URL(), audit.WithSpool(dir, 64<<20), audit.WithRetry(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tr, rec := newRecorder(t)
	var out [][]string
	for range n {
		var ids []string
		for range per {
			ids = append(ids, opSpan(tr, telemetry.OpChat, attribute.String("payload", "x")))
		}
		if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
			t.Fatalf("ExportSpans: %v", err)
		}
		out = append(out, ids)
	}
	if s := exp.Stats(); s.Spooled != int64(n*per) {
		t.Fatalf("Stats().Spooled = %d, want %d", s.Spooled, n*per)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out
}

// segments returns the spool's segment files.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "spool-*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// recordStarts returns the offsets of the records of a segment.
func recordStarts(data []byte) []int {
	var starts []int
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("PSR1"))
		if i < 0 {
			return starts
		}
		starts = append(starts, off+i)
		off += i + 4
	}
}

func TestRestartDeliversSpool(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	batches := spoolRecords(t, reg, dir, 5, 20)
	exp := newExporter(t, reg, audit.WithSpool(dir, 64<<20))
	if err := exp.ForceFlush(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	var ids []string
	for _, b := range batches {
		ids = append(ids, b...)
	}
	checkExactlyOnce(t, reg, ids)
	if s := exp.Stats(); s.Resent != 100 || s.Pending != 0 || s.SpoolBytes != 0 {
		t.Errorf("Stats() = %+v, want 100 resent, an empty spool", s)
	}
	if files := segments(t, dir); len(files) != 0 {
		t.Errorf("segments left after delivery: %v", files)
	}
	// Oldest first: the spans arrived in the order they were spooled.
	var order []string
	for _, s := range reg.Spans() {
		order = append(order, s.SpanID)
	}
	for i := range ids {
		if order[i] != ids[i] {
			t.Fatalf("span %d arrived as %s, want %s: not oldest first", i, order[i], ids[i])
		}
	}
}

func TestTornWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(data []byte, starts []int) []byte
		lost   int // index of the batch that is lost
	}{
		{"truncated last record", func(data []byte, starts []int) []byte {
			last := starts[len(starts)-1]
			return data[:last+(len(data)-last)/2]
		}, 3},
		{"flipped byte in last record", func(data []byte, starts []int) []byte {
			last := starts[len(starts)-1]
			data[last+(len(data)-last)/2] ^= 0x40
			return data
		}, 3},
		{"flipped byte in a middle record", func(data []byte, starts []int) []byte {
			data[starts[1]+(starts[2]-starts[1])/2] ^= 0x01
			return data
		}, 1},
		{"header only", func(data []byte, starts []int) []byte {
			return data[:starts[len(starts)-1]+7]
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := agentidtest.NewRegistry(t)
			dir := t.TempDir()
			batches := spoolRecords(t, reg, dir, 4, 10)
			files := segments(t, dir)
			if len(files) != 1 {
				t.Fatalf("%d segments, want 1", len(files))
			}
			data, err := os.ReadFile(files[0])
			if err != nil {
				t.Fatal(err)
			}
			starts := recordStarts(data)
			if len(starts) != 4 {
				t.Fatalf("%d records, want 4", len(starts))
			}
			if err := os.WriteFile(files[0], tc.damage(data, starts), 0o600); err != nil {
				t.Fatal(err)
			}
			m := newMeters()
			exp := newExporter(t, reg, audit.WithSpool(dir, 64<<20), audit.WithMeterProvider(m))
			if err := exp.ForceFlush(ctxTimeout(t, 10*time.Second)); err != nil {
				t.Fatalf("ForceFlush: %v", err)
			}
			var want []string
			for i, b := range batches {
				if i != tc.lost {
					want = append(want, b...)
				}
			}
			checkExactlyOnce(t, reg, want)
			if s := exp.Stats(); s.TornRecords != 1 || s.Resent != int64(len(want)) {
				t.Errorf("Stats() = %+v, want 1 torn record, %d resent", s, len(want))
			}
			if got := m.sum("passport.audit.spool.torn_records"); got != 1 {
				t.Errorf("metric passport.audit.spool.torn_records = %d, want 1", got)
			}
		})
	}
}

func TestSpoolBound(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	const bound = 40 << 10
	m := newMeters()
	exp := newExporter(t, reg, audit.WithSpool(dir, bound), audit.WithMaxBodyBytes(8<<10), audit.WithMaxSpanBytes(4<<10),
		audit.WithRetry(1, time.Second), audit.WithMeterProvider(m))
	tr, rec := newRecorder(t)
	reg.SetDown(true)
	var recorded, full int
	for range 40 {
		for range 10 {
			opSpan(tr, telemetry.OpChat, attribute.String("payload", string(bytes.Repeat([]byte("p"), 300))))
			recorded++
		}
		err := exp.ExportSpans(context.Background(), rec.take())
		switch {
		case errors.Is(err, audit.ErrSpoolFull):
			full++
		case err != nil:
			t.Fatalf("ExportSpans: %v", err)
		}
		var size int64
		for _, f := range segments(t, dir) {
			fi, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			size += fi.Size()
		}
		if size > bound {
			t.Fatalf("spool holds %d bytes on disk, bound %d", size, bound)
		}
	}
	s := exp.Stats()
	if full == 0 || s.Dropped == 0 {
		t.Fatalf("no drop with a spool bound of %d bytes: %+v", bound, s)
	}
	if s.Spooled+s.Dropped != int64(recorded) {
		t.Errorf("Spooled %d + Dropped %d = %d, want every span %d accounted for", s.Spooled, s.Dropped, s.Spooled+s.Dropped, recorded)
	}
	if got := m.sum("passport.audit.spans.dropped"); got != s.Dropped {
		t.Errorf("metric passport.audit.spans.dropped = %d, want %d", got, s.Dropped)
	}
	reg.SetDown(false)
	if err := exp.ForceFlush(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if got := exp.Stats(); got.Resent != s.Spooled || int64(reg.SpanTotal()) != s.Spooled {
		t.Errorf("after recovery %+v and %d spans at the registry, want all %d spooled spans resent", got, reg.SpanTotal(), s.Spooled)
	}
	// Space is free again: new spans are delivered.
	opSpan(tr, telemetry.OpChat)
	if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
		t.Errorf("ExportSpans after recovery: %v", err)
	}
}

// TestResendHonoursRetryAfter throttles the resender: it waits.
func TestResendHonoursRetryAfter(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	batches := spoolRecords(t, reg, dir, 2, 5)
	reg.ThrottleNext(1, time.Second)
	start := time.Now()
	exp := newExporter(t, reg, audit.WithSpool(dir, 64<<20), audit.WithRetry(2, 100*time.Millisecond))
	deadline := time.Now().Add(10 * time.Second)
	for reg.SpanTotal() < 10 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(start); d < time.Second {
		t.Errorf("the spool was delivered %v after a 429 with Retry-After: 1, want at least 1s", d)
	}
	checkExactlyOnce(t, reg, append(batches[0], batches[1]...))
	_ = exp
}

// TestSpoolKeepsEncodingAndRoute spools Agent 365 bodies in JSON, then
// resends them from an exporter configured otherwise: each record keeps
// its encoding and its partition's path.
func TestSpoolKeepsEncodingAndRoute(t *testing.T) {
	_, src := tokenSource(t)
	reg := agentidtest.NewRegistry(t)
	dir := t.TempDir()
	reg.SetDown(true)
	exp, err := audit.NewExporter(reg.URL(), audit.WithAgent365(), audit.WithTokenSource(src, registryScope),
		audit.WithEncoding(audit.EncodingJSON), audit.WithSpool(dir, 64<<20), audit.WithRetry(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tr, rec := newRecorder(t)
	ids := []string{
		toolSpan(tr, testTenantID, testAgentID, "a"),
		toolSpan(tr, "other-tenant", testAgentID, "b"),
	}
	if err := exp.ExportSpans(context.Background(), rec.take()); err != nil {
		t.Fatalf("ExportSpans: %v", err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg.SetDown(false)
	exp2 := newExporter(t, reg, audit.WithAgent365(), audit.WithTokenSource(src, registryScope), audit.WithSpool(dir, 64<<20))
	if err := exp2.ForceFlush(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	checkExactlyOnce(t, reg, ids)
	for _, r := range reg.Requests() {
		if r.ContentType != "application/json" || !strings.HasPrefix(r.Path, "/observability/tenants/") || !r.Authorization {
			t.Errorf("resent request %+v: want the JSON body to its partition's path, with a token", r)
		}
	}
	for _, s := range reg.Spans() {
		if s.Agent != testAgentID || (s.Tenant != testTenantID && s.Tenant != "other-tenant") {
			t.Errorf("span arrived for %q/%q", s.Tenant, s.Agent)
		}
	}
}
