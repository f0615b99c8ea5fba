package agentidtest

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Registry is the trace-ingestion side of an agent registry: an
// OTLP/HTTP receiver on a loopback address that stores the spans it
// accepts so that tests can assert on them, with fault injection. It
// speaks plain OTLP/HTTP and the Microsoft Agent 365 observability
// route:
//
//	POST /v1/traces
//	POST /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1
//
// Bodies are OTLP ExportTraceServiceRequest messages in protobuf
// (Content-Type application/x-protobuf) or OTLP/JSON (application/json,
// with hex trace and span ids), optionally gzip-compressed
// (Content-Encoding: gzip), of at most 8 MiB (see [WithRegistryBodyLimit])
// after decompression. It answers 200 with an ExportTraceServiceResponse
// in the request's encoding, 400 for a body it cannot decode or an Agent
// 365 request without api-version=1, 401 when [Registry.RequireBearer]
// refuses the token, 413 for a body too large and 415 for another content
// type. It stores nothing of a request it does not accept, and never
// stores a token.
//
// [Registry.SetDown] takes it down for real (connections are refused) and
// back up on the same address; [Registry.FailNext],
// [Registry.ThrottleNext], [Registry.PartialSuccessNext] and
// [Registry.SetLatency] inject faults.
//
// Create one with [NewRegistry] in tests or [StartRegistry] in programs.
// All methods are safe for concurrent use. A Registry must not be copied.
type Registry struct {
	cfg    registryConfig
	addr   string             // host:port, the same for the Registry's life
	ctx    context.Context    // base context of every request; cancelled by Close
	cancel context.CancelFunc // cancels ctx

	srvMu  sync.Mutex    // guards srv, served, down and closed
	srv    *http.Server  // serves while up
	served chan struct{} // closed when srv's Serve returns
	down   bool          // SetDown(true) is in force
	closed bool          // Close was called

	// gate orders storing against going down: a handler holds it for
	// reading while it stores and answers, SetDown and Close for writing
	// while they close the server, so a request is either stored and
	// answered in full or not stored at all.
	gate sync.RWMutex
	gen  atomic.Uint64 // generation of the current server; changes at every SetDown

	active   sync.RWMutex   // guards quitting against handlers.Add
	quitting bool           // Close began: handlers no longer start
	handlers sync.WaitGroup // handlers running

	mu     sync.Mutex // guards store and faults
	store  registryStore
	faults registryFaults
}

// RegistryOption configures a [Registry] at start. The set of options is
// sealed: only this package can implement RegistryOption.
type RegistryOption interface{ applyRegistry(*registryConfig) }

type registryOptionFunc func(*registryConfig)

func (f registryOptionFunc) applyRegistry(c *registryConfig) { f(c) }

type registryConfig struct {
	addr      string
	bodyLimit int64
}

// WithRegistryAddress sets the listen address, such as "127.0.0.1:4318".
// The default is a free port on 127.0.0.1. It must be a loopback address.
func WithRegistryAddress(addr string) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.addr = addr })
}

// WithRegistryBodyLimit sets the largest request body accepted, after
// decompression; larger bodies get 413. The default is 8 MiB.
func WithRegistryBodyLimit(n int64) RegistryOption {
	return registryOptionFunc(func(c *registryConfig) { c.bodyLimit = n })
}

// NewRegistry starts a [Registry] for a test or benchmark and registers
// its Close with tb.Cleanup. It reports a setup error with tb.Fatalf, so
// it must be called from the goroutine running the test.
func NewRegistry(tb testing.TB, opts ...RegistryOption) *Registry {
	tb.Helper()
	r, err := StartRegistry(opts...)
	if err != nil {
		tb.Fatalf("agentidtest.NewRegistry: %v", err)
	}
	tb.Cleanup(func() { _ = r.Close() })
	return r
}

// StartRegistry starts a [Registry] for a program. It listens on a
// loopback address over plain HTTP. The caller must call
// [Registry.Close] when done with it.
func StartRegistry(opts ...RegistryOption) (*Registry, error) {
	cfg := registryConfig{addr: "127.0.0.1:0", bodyLimit: 8 << 20}
	for _, o := range opts {
		if o != nil {
			o.applyRegistry(&cfg)
		}
	}
	if cfg.bodyLimit <= 0 {
		return nil, fmt.Errorf("agentidtest: WithRegistryBodyLimit(%d): want a positive limit", cfg.bodyLimit)
	}
	host, _, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("agentidtest: registry address: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("agentidtest: registry address %q is not loopback", cfg.addr)
	}
	r := &Registry{cfg: cfg}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		r.cancel()
		return nil, fmt.Errorf("agentidtest: registry listener: %w", err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	return r, nil
}

// serve starts a server generation on ln. r.srvMu must be held or r not
// yet shared.
func (r *Registry) serve(ln net.Listener) {
	gen := r.gen.Add(1)
	srv := &http.Server{
		Handler:           r.routes(gen),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return r.ctx },
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	r.srv, r.served = srv, served
}

// stop closes the current server and its connections, waiting for
// handlers that are storing or answering. r.srvMu must be held.
func (r *Registry) stop() {
	r.gate.Lock()
	r.gen.Add(1) // handlers of the closed server store nothing any more
	_ = r.srv.Close()
	r.gate.Unlock()
	<-r.served
}

// URL returns the base URL of the registry, such as http://127.0.0.1:41234,
// with no trailing slash. It does not change when the registry goes down
// and up.
func (r *Registry) URL() string { return "http://" + r.addr }

// TracesURL returns URL()+"/v1/traces", the plain OTLP/HTTP route.
func (r *Registry) TracesURL() string { return r.URL() + "/v1/traces" }

// SetDown takes the registry down (true) or back up (false). Down is
// really down: the listener and every connection are closed, so new
// connections are refused; a request being stored when SetDown(true) is
// called is first stored and answered in full, and one that arrives
// later is not stored. Back up listens on the same address again.
// SetDown panics if that address cannot be listened on again within
// 5 seconds (another process took the port). It does nothing after Close.
func (r *Registry) SetDown(down bool) {
	r.srvMu.Lock()
	defer r.srvMu.Unlock()
	if r.closed || r.down == down {
		return
	}
	if down {
		r.stop()
		r.down = true
		return
	}
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", r.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		panic(fmt.Sprintf("agentidtest: Registry.SetDown(false): listening on %s again: %v", r.addr, err))
	}
	r.serve(ln)
	r.down = false
}

// Close stops the registry: it closes the listener and every connection,
// cancels requests in flight (including those waiting for latency) and
// waits for them, so no goroutine of the Registry is left behind. What
// was stored stays readable. Close is idempotent and always returns nil.
func (r *Registry) Close() error {
	r.srvMu.Lock()
	if r.closed {
		r.srvMu.Unlock()
		return nil
	}
	r.closed = true
	r.cancel()
	if !r.down {
		r.stop()
	}
	r.srvMu.Unlock()
	r.active.Lock()
	r.quitting = true
	r.active.Unlock()
	r.handlers.Wait()
	return nil
}

// enter registers a running handler; it reports false after Close began.
func (r *Registry) enter() bool {
	r.active.RLock()
	defer r.active.RUnlock()
	if r.quitting {
		return false
	}
	r.handlers.Add(1)
	return true
}

// routes returns the handler of server generation gen.
func (r *Registry) routes(gen uint64) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, req *http.Request) {
		r.handleTraces(w, req, gen, "", "")
	})
	mux.HandleFunc("POST /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces", func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Query().Get("api-version") != "1" {
			r.answerError(w, req, http.StatusBadRequest, "api-version=1 is required")
			return
		}
		r.handleTraces(w, req, gen, req.PathValue("tenantId"), req.PathValue("agentId"))
	})
	return mux
}
