package policy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/policy"
)

const (
	allowAll = "@id(\"A\") permit (principal, action, resource);\n"
	denyAll  = "@id(\"B\") permit (principal, action, resource);\n@id(\"B-forbid\") forbid (principal, action, resource);\n"
	badSet   = "@id(\"C\") permit (principal, action, resource) when { context.nope };\n"
)

// writeFile writes text to path with a modification time that differs
// from any before.
func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	mtime.Add(1)
	at := time.Unix(1_700_000_000+mtime.Load(), 0)
	if err := os.Chtimes(path, at, at); err != nil {
		t.Fatal(err)
	}
}

var mtime atomic.Int64

var toolCall = policy.Request{Subject: supportAgent(), Action: policy.InvokeTool, Resource: policy.Tool("lookup")}

func TestReloadKeepsLastGoodSet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cedar")
	writeFile(t, path, allowAll)
	e, err := policy.New(context.Background(), policy.FromFiles(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()

	writeFile(t, path, badSet)
	err = e.Reload(ctx)
	var le *policy.LoadError
	if !errors.As(err, &le) || le.File != path || le.Line != 1 {
		t.Fatalf("Reload() with a bad file error = %v, want a *LoadError at %s:1", err, path)
	}
	if d := decide(t, e, toolCall); !d.Allow || !slices.Equal(d.Reasons, []string{"A"}) {
		t.Errorf("after a bad update Decide() = %v, want the last good set's allow by [A]", d)
	}
	if st := e.Status(); st.Revision != 1 || !errors.As(st.Err, &le) {
		t.Errorf("Status() = %+v, want revision 1 and the load error", st)
	}

	writeFile(t, path, denyAll)
	if err := e.Reload(ctx); err != nil {
		t.Fatalf("Reload() error = %v", err)
	}
	if d := decide(t, e, toolCall); d.Allow || !slices.Equal(d.Reasons, []string{"B-forbid"}) {
		t.Errorf("after a good update Decide() = %v, want deny by [B-forbid]", d)
	}
	if st := e.Status(); st.Revision != 2 || st.Err != nil || st.Policies != 2 {
		t.Errorf("Status() = %+v, want revision 2, 2 policies, no error", st)
	}
	if err := e.Reload(ctx); err != nil || e.Status().Revision != 2 {
		t.Errorf("Reload() of unchanged files = %v, revision %d, want nil and no new revision", err, e.Status().Revision)
	}
}

func TestFromFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "b.cedar"), `@id("b") permit (principal, action, resource);`)
	writeFile(t, filepath.Join(dir, "sub", "a.cedar"), `@id("a") forbid (principal, action, resource) when { principal.risk > 2 };`)
	writeFile(t, filepath.Join(dir, "notes.txt"), `not cedar`)
	single := filepath.Join(t.TempDir(), "extra.policy")
	writeFile(t, single, `@id("extra") permit (principal, action == Action::"call_api", resource);`)

	e, err := policy.New(context.Background(), policy.FromFiles(dir, single))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if diff := cmp.Diff([]string{"b", "a", "extra"}, e.PolicyIDs()); diff != "" {
		t.Errorf("PolicyIDs() mismatch (-want +got):\n%s", diff)
	}

	if _, err := policy.New(context.Background(), policy.FromFiles(filepath.Join(dir, "missing"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New(missing file) error = %v, want os.ErrNotExist", err)
	}
}

// TestReloadConcurrentSafe swaps policy sets, good and bad, while
// decisions run: every decision comes from one whole set.
func TestReloadConcurrentSafe(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cedar")
	writeFile(t, path, allowAll)
	e, err := policy.New(context.Background(), policy.FromFiles(path))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var decisions atomic.Int64
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Decide(context.Background(), toolCall)
				if err != nil {
					t.Error(err)
					return
				}
				allowA := d.Allow && slices.Equal(d.Reasons, []string{"A"})
				denyB := !d.Allow && slices.Equal(d.Reasons, []string{"B-forbid"})
				if !allowA && !denyB {
					t.Errorf("Decide() = %v: not from one whole set", d)
					return
				}
				decisions.Add(1)
			}
		})
	}
	texts := []string{denyAll, badSet, allowAll, badSet}
	for i := range 60 {
		writeFile(t, path, texts[i%len(texts)])
		err := e.Reload(context.Background())
		if bad := texts[i%len(texts)] == badSet; bad != (err != nil) {
			t.Errorf("Reload() #%d error = %v, want an error only for the bad set", i, err)
		}
	}
	close(stop)
	wg.Wait()
	if decisions.Load() == 0 {
		t.Error("no decision ran during the reloads")
	}
}

func TestWatchReloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.cedar")
	writeFile(t, path, allowAll)
	e, err := policy.New(context.Background(), policy.FromFiles(dir), policy.WithWatch(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()

	writeFile(t, path, denyAll)
	waitFor(t, "the watcher loads the new set", func() bool { return e.Status().Revision == 2 })
	writeFile(t, path, badSet)
	waitFor(t, "the watcher reports the bad update", func() bool { return e.Status().Err != nil })
	if d := decide(t, e, toolCall); d.Allow || e.Status().Revision != 2 {
		t.Errorf("after a bad update Decide() = %v at revision %d, want the last good set (deny, revision 2)", d, e.Status().Revision)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// watchers counts the goroutines running an engine's watch loop.
func watchers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "\ngithub.com/agentpassport/passport/policy.(*Engine).watch")
}

func TestCloseStopsTheWatcher(t *testing.T) {
	before := watchers()
	e, err := policy.New(context.Background(), policy.FromString("x.cedar", allowAll), policy.WithWatch(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watcher runs", func() bool { return watchers() == before+1 })
	for range 2 {
		if err := e.Close(); err != nil {
			t.Errorf("Close() = %v, want nil", err)
		}
	}
	if got := watchers(); got != before {
		t.Errorf("%d watchers after Close, want %d: Close must wait for its goroutine", got, before)
	}
	if _, err := e.Decide(context.Background(), toolCall); !errors.Is(err, policy.ErrClosed) {
		t.Errorf("Decide() after Close error = %v, want ErrClosed", err)
	}
	if err := e.Reload(context.Background()); !errors.Is(err, policy.ErrClosed) {
		t.Errorf("Reload() after Close error = %v, want ErrClosed", err)
	}
	if st := e.Status(); st.Policies != 1 {
		t.Errorf("Status() after Close = %+v, want the last set", st)
	}
}
