package policy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/policy"
)

const apiPolicies = `
@id("orders")
permit (principal in Blueprint::"support", action == Action::"call_api", resource == Api::"api://orders");

@id("tools")
permit (principal in Blueprint::"support", action == Action::"invoke_tool", resource);

@id("no-delete")
forbid (principal, action == Action::"call_api", resource)
when { principal.kind == "autonomous" && context has http && context.http.method == "DELETE" };

@id("loopback-only")
forbid (principal, action == Action::"call_api", resource)
unless { context has source_ip && context.source_ip.isLoopback() };
`

// apiServer serves a handler behind agentid.Middleware and
// policy.Middleware, with tokens of a local authority.
type apiServer struct {
	authority *agentidtest.Authority
	url       string
}

func newAPIServer(t *testing.T, d policy.Decider, handler http.Handler) *apiServer {
	t.Helper()
	a := agentidtest.NewAuthority(t)
	v, err := agentid.NewVerifier(context.Background(), a.Issuer(), agentid.WithAudience("api://orders"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	srv := httptest.NewServer(agentid.Middleware(v)(policy.Middleware(d, "api://orders")(handler)))
	t.Cleanup(srv.Close)
	return &apiServer{authority: a, url: srv.URL}
}

// token is an app token of agent, created from blueprint.
func (s *apiServer) token(t *testing.T, agent, blueprint string) string {
	t.Helper()
	now := time.Now()
	tok, err := s.authority.IssueToken(map[string]any{
		"iss": s.authority.Issuer(), "aud": "api://orders", "sub": agent, "azp": agent,
		"tid": s.authority.TenantID(), "idtyp": "app", "xms_par_app_azp": blueprint,
		"iat": now, "nbf": now, "exp": now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (s *apiServer) do(t *testing.T, method, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+"/orders/1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMiddleware(t *testing.T) {
	e := newEngine(t, apiPolicies)
	// The handler calls a guarded tool: it is decided for the caller the
	// middleware let in.
	lookup := policy.Guard(e, policy.Tool("lookup"), func(context.Context, string) (string, error) { return "order 1", nil })
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := policy.SubjectFromContext(r.Context())
		out, err := lookup(r.Context(), "1")
		if !ok || err != nil {
			http.Error(w, "no subject", http.StatusTeapot)
			return
		}
		io.WriteString(w, s.Agent.ID+": "+out)
	})
	s := newAPIServer(t, e, handler)

	tests := []struct {
		name       string
		method     string
		blueprint  string
		wantStatus int
		wantBody   string
	}{
		{"allowed", http.MethodGet, "support", http.StatusOK, "agent-1: order 1"},
		{"blueprint without a permit", http.MethodGet, "sales", http.StatusForbidden, `"error":"access_denied"`},
		{"forbidden method", http.MethodDelete, "support", http.StatusForbidden, `"error":"access_denied"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := s.do(t, tt.method, s.token(t, "agent-1", tt.blueprint))
			if status != tt.wantStatus || !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s /orders/1 = %d %s, want %d with %s", tt.method, status, body, tt.wantStatus, tt.wantBody)
			}
			if strings.Contains(body, "no-delete") || strings.Contains(body, "Bearer") {
				t.Errorf("the answer names a policy or a token: %s", body)
			}
			if status == http.StatusForbidden {
				var m map[string]string
				if err := json.Unmarshal([]byte(body), &m); err != nil || len(m) != 2 {
					t.Errorf("the 403 body %q is not a small JSON error", body)
				}
			}
		})
	}
}

func TestMiddlewareReportOnlyAndFailures(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })

	reportOnly := newEngine(t, apiPolicies, policy.WithMode(policy.ReportOnly))
	s := newAPIServer(t, reportOnly, ok)
	if status, _ := s.do(t, http.MethodDelete, s.token(t, "agent-1", "support")); status != http.StatusOK {
		t.Errorf("report-only DELETE = %d, want 200", status)
	}

	closed := newEngine(t, apiPolicies)
	closed.Close()
	s = newAPIServer(t, closed, ok)
	if status, _ := s.do(t, http.MethodGet, s.token(t, "agent-1", "support")); status != http.StatusServiceUnavailable {
		t.Errorf("GET with a closed engine = %d, want 503", status)
	}

	unprotected := httptest.NewServer(policy.Middleware(newEngine(t, apiPolicies), "api://orders")(ok))
	defer unprotected.Close()
	resp, err := http.Get(unprotected.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("GET without agentid.Middleware = %d, want 500", resp.StatusCode)
	}
}

func TestMiddlewareUserToken(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	s := newAPIServer(t, newEngine(t, apiPolicies), ok)
	now := time.Now()
	tok, err := s.authority.IssueToken(map[string]any{
		"iss": s.authority.Issuer(), "aud": "api://orders", "sub": "user-1", "oid": "user-1",
		"tid": s.authority.TenantID(), "idtyp": "user", "iat": now, "nbf": now, "exp": now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if status, body := s.do(t, http.MethodGet, tok); status != http.StatusForbidden {
		t.Errorf("GET with a token that names no agent = %d %s, want 403", status, body)
	}
}
