package agentidtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Authority is an OAuth 2.0 authorization server shaped like the Microsoft
// Entra ID v2 endpoints, served over real HTTP on a loopback address. It
// publishes discovery metadata (OpenID Connect Discovery and RFC 8414), a
// JWKS, and a token endpoint that authenticates clients (RFC 6749 §2.3,
// RFC 7523) and issues signed JWT access tokens.
//
// Create one with [NewAuthority] in tests or [StartAuthority] in programs.
// All methods are safe for concurrent use. An Authority must not be copied.
type Authority struct {
	cfg    config             // fixed at start
	srv    *httptest.Server   // serves every route
	ctx    context.Context    // base context of every request; cancelled by Close
	cancel context.CancelFunc // cancels ctx
	fed    *http.Client       // fetches federated issuers' metadata and keys
	once   sync.Once          // makes Close idempotent

	mu      sync.RWMutex       // guards tenants, clients and dir
	tenants map[string]bool    // every tenant the server answers for
	clients map[string]*client // registered clients by client id; values are immutable
	dir     directory          // blueprints, agents, users, blocks and denials

	keys    keyring      // signing keys and the JWKS
	jtis    replayCache  // client assertion ids already used
	faults  faultState   // latency, pending faults and the request log
	refresh refreshStore // refresh tokens issued
}

// NewAuthority starts an [Authority] for a test or benchmark and registers
// its Close with tb.Cleanup. It reports a setup error, such as an invalid
// option, with tb.Fatalf, so it must be called from the goroutine running
// the test.
func NewAuthority(tb testing.TB, opts ...Option) *Authority {
	tb.Helper()
	a, err := StartAuthority(opts...)
	if err != nil {
		tb.Fatalf("agentidtest.NewAuthority: %v", err)
	}
	tb.Cleanup(func() { _ = a.Close() })
	return a
}

// StartAuthority starts an [Authority] for a program, such as an example or
// a quickstart. It listens on a loopback address over plain HTTP. The
// caller must call [Authority.Close] when done with it. StartAuthority
// returns an error if an option is invalid or the keys or listener cannot
// be created.
func StartAuthority(opts ...Option) (*Authority, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	a := &Authority{
		cfg:     cfg,
		tenants: map[string]bool{cfg.tenantID: true},
		clients: make(map[string]*client),
	}
	if err := a.keys.rotate(); err != nil {
		return nil, fmt.Errorf("agentidtest: creating signing keys: %w", err)
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.fed = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 8,
			IdleConnTimeout:     30 * time.Second,
		},
	}
	a.srv = httptest.NewUnstartedServer(a.routes())
	a.srv.Config.BaseContext = func(net.Listener) context.Context { return a.ctx }
	a.srv.Config.ReadHeaderTimeout = 10 * time.Second
	a.srv.Start()
	return a, nil
}

// Close stops the server: it stops accepting connections, cancels requests
// in flight (including those waiting for latency set by
// [Authority.SetLatency]) and waits for them to finish, so no goroutine of
// the Authority is left behind. Close is idempotent and always returns nil.
// Methods that only change state, such as [Authority.RegisterClient], keep
// working after Close, but nothing is served any more.
func (a *Authority) Close() error {
	a.once.Do(func() {
		a.cancel()
		a.srv.Close()
		a.fed.CloseIdleConnections()
	})
	return nil
}

// URL returns the base URL of the server, such as http://127.0.0.1:41234,
// with no trailing slash.
func (a *Authority) URL() string { return a.srv.URL }

// TenantID returns the default tenant: the one set by [WithTenantID], or a
// random GUID.
func (a *Authority) TenantID() string { return a.cfg.tenantID }

// AddTenant makes the server answer for another tenant: its discovery
// documents, JWKS and token endpoint are served under /id/ as those of the
// default tenant are. Clients and keys are shared by all tenants; tokens
// name the tenant they were requested from in iss and tid. AddTenant
// panics if id is not a valid tenant id (see [WithTenantID]); adding a
// tenant twice is harmless.
func (a *Authority) AddTenant(id string) {
	if !validTenantID(id) {
		panic(fmt.Sprintf("agentidtest: AddTenant: invalid tenant id %q", id))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tenants[id] = true
}

// knownTenant reports whether the server answers for tenant.
func (a *Authority) knownTenant(tenant string) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.tenants[tenant]
}

// Issuer returns the issuer of the default tenant, IssuerFor(TenantID()).
func (a *Authority) Issuer() string { return a.IssuerFor(a.cfg.tenantID) }

// IssuerFor returns the issuer identifier of tenant, URL()+"/"+tenant+"/v2.0",
// as in the iss claim of its tokens and in its discovery metadata.
func (a *Authority) IssuerFor(tenant string) string { return a.URL() + "/" + tenant + "/v2.0" }

// TokenURL returns the token endpoint of the default tenant,
// URL()+"/"+TenantID()+"/oauth2/v2.0/token".
func (a *Authority) TokenURL() string { return a.tokenURLFor(a.cfg.tenantID) }

func (a *Authority) tokenURLFor(tenant string) string {
	return a.URL() + "/" + tenant + "/oauth2/v2.0/token"
}

// JWKSURL returns the JWKS URL of the default tenant,
// URL()+"/"+TenantID()+"/discovery/v2.0/keys".
func (a *Authority) JWKSURL() string { return a.jwksURLFor(a.cfg.tenantID) }

func (a *Authority) jwksURLFor(tenant string) string {
	return a.URL() + "/" + tenant + "/discovery/v2.0/keys"
}

// HTTPClient returns an HTTP client that reaches the server: the
// [httptest.Server] client, whose idle connections Close closes. It is
// safe for concurrent use and shared by every caller.
func (a *Authority) HTTPClient() *http.Client { return a.srv.Client() }

// routes returns the handler for every route of the server. Paths that
// match no route get 404; a route asked with the wrong method gets 405.
func (a *Authority) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", a.handleMetadata)
	mux.HandleFunc("GET /.well-known/oauth-authorization-server/{tenant}/v2.0", a.handleMetadata)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", a.handleJWKS)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", a.handleToken)
	return mux
}

// newGUID returns a random (version 4) GUID in its canonical form.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; see crypto/rand.Read
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
