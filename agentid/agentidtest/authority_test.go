package agentidtest_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

func TestAuthorityURLs(t *testing.T) {
	a := agentidtest.NewAuthority(t, agentidtest.WithTenantID("contoso.onmicrosoft.com"))
	base := a.URL()
	if !strings.HasPrefix(base, "http://127.0.0.1:") && !strings.HasPrefix(base, "http://[::1]:") {
		t.Errorf("URL() = %q, want a plain HTTP loopback URL", base)
	}
	got := map[string]string{
		"TenantID":  a.TenantID(),
		"Issuer":    a.Issuer(),
		"IssuerFor": a.IssuerFor("fabrikam"),
		"TokenURL":  a.TokenURL(),
		"JWKSURL":   a.JWKSURL(),
	}
	want := map[string]string{
		"TenantID":  "contoso.onmicrosoft.com",
		"Issuer":    base + "/contoso.onmicrosoft.com/v2.0",
		"IssuerFor": base + "/fabrikam/v2.0",
		"TokenURL":  base + "/contoso.onmicrosoft.com/oauth2/v2.0/token",
		"JWKSURL":   base + "/contoso.onmicrosoft.com/discovery/v2.0/keys",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Authority URLs mismatch (-want +got):\n%s", diff)
	}
}

func TestAuthorityDefaultTenantIsGUID(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	b := agentidtest.NewAuthority(t)
	if id := a.TenantID(); len(id) != 36 || strings.Count(id, "-") != 4 {
		t.Errorf("TenantID() = %q, want a GUID", id)
	}
	if a.TenantID() == b.TenantID() {
		t.Errorf("two Authorities share TenantID() = %q, want random ones", a.TenantID())
	}
}

func TestStartAuthorityInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  agentidtest.Option
	}{
		{"empty tenant", agentidtest.WithTenantID("")},
		{"tenant with slash", agentidtest.WithTenantID("a/b")},
		{"HS256", agentidtest.WithSigningAlgorithm("HS256")},
		{"zero lifetime", agentidtest.WithTokenLifetime(0)},
		{"negative refresh_in", agentidtest.WithRefreshIn(-time.Second)},
		{"no auth methods", agentidtest.WithAuthMethods()},
		{"unknown auth method", agentidtest.WithAuthMethods("tls_client_auth")},
		{"nil clock", agentidtest.WithClock(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := agentidtest.StartAuthority(tt.opt)
			if err == nil {
				a.Close()
				t.Fatal("StartAuthority() = nil error, want an error")
			}
		})
	}
}

func TestRegisterClientErrors(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "taken", agentidtest.WithSecret("s"))
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		name string
		id   string
		opts []agentidtest.ClientOption
	}{
		{"empty id", "", []agentidtest.ClientOption{agentidtest.WithSecret("s")}},
		{"duplicate id", "taken", []agentidtest.ClientOption{agentidtest.WithSecret("s")}},
		{"no credential", "bare", []agentidtest.ClientOption{agentidtest.WithAppRoles("api://x", "r")}},
		{"empty secret", "c1", []agentidtest.ClientOption{agentidtest.WithSecret("")}},
		{"Ed25519 key", "c2", []agentidtest.ClientOption{agentidtest.WithPublicKey(edKey.Public())}},
		{"private key", "c3", []agentidtest.ClientOption{agentidtest.WithPublicKey(keys().rsa)}},
		{"nil certificate", "c4", []agentidtest.ClientOption{agentidtest.WithCertificate(nil)}},
		{"relative issuer", "c5", []agentidtest.ClientOption{agentidtest.WithFederatedIdentity("issuer", "sub")}},
		{"empty subject", "c6", []agentidtest.ClientOption{agentidtest.WithFederatedIdentity("https://issuer", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.RegisterClient(tt.id, tt.opts...); err == nil {
				t.Errorf("RegisterClient(%q) = nil, want an error", tt.id)
			}
		})
	}
}

func TestRoutesNotFoundAndMethods(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	tests := []struct {
		name   string
		method string
		path   string
		want   int
	}{
		{"unknown path", http.MethodGet, "/nothing/here", http.StatusNotFound},
		{"authorize endpoint", http.MethodGet, "/" + a.TenantID() + "/oauth2/v2.0/authorize", http.StatusNotFound},
		{"POST discovery", http.MethodPost, "/" + a.TenantID() + "/v2.0/.well-known/openid-configuration", http.StatusMethodNotAllowed},
		{"DELETE keys", http.MethodDelete, "/" + a.TenantID() + "/discovery/v2.0/keys", http.StatusMethodNotAllowed},
		{"GET token", http.MethodGet, "/" + a.TenantID() + "/oauth2/v2.0/token", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, a.URL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := a.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

func TestCloseIdempotentNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	a, err := agentidtest.StartAuthority()
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	// A federated client makes the Authority fetch another issuer's keys,
	// so its own HTTP client has connections to close too.
	b, err := agentidtest.StartAuthority()
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, a, "fed", agentidtest.WithFederatedIdentity(b.Issuer(), "workload"))
	ext, err := b.IssueToken(map[string]any{
		"iss": b.Issuer(), "sub": "workload", "aud": "api://AzureADTokenExchange",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if r := postToken(t, a, secretForm("app", "s", "api://x/.default"), nil); r.status != http.StatusOK {
			t.Fatalf("secret token request: status %d, want 200", r.status)
		}
		if r := postToken(t, a, assertionForm("fed", ext, "api://x/.default"), nil); r.status != http.StatusOK {
			t.Fatalf("federated token request: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
		}
	}
	for i := range 2 {
		if err := a.Close(); err != nil {
			t.Errorf("Close() #%d = %v, want nil", i+1, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("b.Close() = %v, want nil", err)
	}

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines after Close = %d, want ≤ %d\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
	if _, err := a.HTTPClient().Get(a.JWKSURL()); err == nil {
		t.Error("GET after Close succeeded, want an error")
	}
}
