package audit_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// crashEnv tells TestCrashChild, run as a child process, its spool
// directory, registry URL and span count: "dir|url|n".
const crashEnv = "PASSPORT_AUDIT_CRASH_CHILD"

// TestCrashChild is the child of TestCrashRecovery: it records spans
// through a spool while the registry is down, says so, and waits to be
// killed.
func TestCrashChild(t *testing.T) {
	cfg := os.Getenv(crashEnv)
	if cfg == "" {
		t.Skip("runs only as the child process of TestCrashRecovery")
	}
	parts := strings.SplitN(cfg, "|", 3)
	if len(parts) != 3 {
		t.Fatalf("%s=%q: want dir|url|n", crashEnv, cfg)
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	exp, err := audit.NewExporter(parts[1], audit.WithSpool(parts[0], 64<<20), audit.WithRetry(1, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(testResource))
	tr := tp.Tracer(telemetry.ScopeName)
	for i := range n {
		id := toolSpan(tr, testTenantID, testAgentID, "lookup", attribute.Int("i", i))
		fmt.Printf("SPAN %s\n", id)
	}
	if s := exp.Stats(); s.Spooled != int64(n) || s.Pending != int64(n) {
		t.Fatalf("Stats() = %+v, want %d spans spooled and pending", s, n)
	}
	fmt.Printf("SPOOLED %d\n", n)
	time.Sleep(time.Minute) // killed before this ends
	t.Fatal("the child was not killed")
}

// TestCrashRecovery runs TestCrashChild in a child process, kills it with
// SIGKILL once its spool holds its spans, and delivers them from a new
// Exporter on the same directory.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	reg := agentidtest.NewRegistry(t)
	reg.SetDown(true)
	dir := t.TempDir()
	const n = 150
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d", crashEnv, dir, reg.URL(), n))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()

	var ids []string
	spooled := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if id, ok := strings.CutPrefix(line, "SPAN "); ok {
			ids = append(ids, id)
		}
		if strings.HasPrefix(line, "SPOOLED ") {
			spooled = true
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("SIGKILL: %v", err)
			}
			break
		}
	}
	_ = cmd.Wait()
	if !spooled || len(ids) != n {
		t.Fatalf("the child recorded %d spans and spooled: %v; want %d spans spooled", len(ids), spooled, n)
	}
	if ps := cmd.ProcessState; ps == nil || ps.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child state %v, want killed by SIGKILL", ps)
	}

	reg.SetDown(false)
	exp := newExporter(t, reg, audit.WithSpool(dir, 64<<20))
	if err := exp.ForceFlush(ctxTimeout(t, 20*time.Second)); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	checkExactlyOnce(t, reg, ids)
	if s := exp.Stats(); s.Resent != n || s.TornRecords != 0 {
		t.Errorf("Stats() = %+v, want %d resent, no torn record", s, n)
	}
}
