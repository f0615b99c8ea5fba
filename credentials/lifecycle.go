package credentials

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// lifecycle owns the goroutines of a source: every flight runs under its
// context, which Close cancels before waiting for them all.
type lifecycle struct {
	ctx    context.Context
	cancel context.CancelFunc
	closed atomic.Bool

	mu sync.Mutex // guards wg.Add against a concurrent close
	wg sync.WaitGroup
}

func newLifecycle() *lifecycle {
	ctx, cancel := context.WithCancel(context.Background())
	return &lifecycle{ctx: ctx, cancel: cancel}
}

// start runs f in a goroutine, unless the lifecycle is closed.
func (l *lifecycle) start(f func()) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		f()
	}()
	return true
}

// close cancels every goroutine and waits for them. It is idempotent.
func (l *lifecycle) close() {
	l.mu.Lock()
	l.closed.Store(true)
	l.cancel()
	l.mu.Unlock()
	l.wg.Wait()
}

// isLoopback reports whether host (a name or an IP literal, without
// port) is the loopback interface. Names other than "localhost" are not
// resolved.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
