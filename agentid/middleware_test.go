package agentid_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/internal/oauth"
)

const metadataURL = "https://orders.example/.well-known/oauth-protected-resource"

// echoPrincipal answers 200 with the caller's agent id and the body it
// read.
var echoPrincipal = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := agentid.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "agent=%s body=%s", p.AgentID, body)
})

func TestMiddleware(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	h := agentid.Middleware(v, agentid.WithResourceMetadataURL(metadataURL))(echoPrincipal)
	valid := ti.token(t, "RS256", ti.claims(testNow, nil), nil)
	expired := ti.token(t, "RS256", ti.claims(testNow, map[string]any{"exp": testNow.Add(-time.Hour).Unix()}), nil)

	tests := []struct {
		name      string
		req       func() *http.Request
		status    int
		challenge *oauth.Challenge // nil: no WWW-Authenticate
		body      string           // checked when not empty
	}{
		{
			name:   "valid token",
			req:    func() *http.Request { return bearer(get("/orders"), valid) },
			status: http.StatusOK,
			body:   "agent=agent-app-id body=",
		},
		{
			name: "scheme is case-insensitive",
			req: func() *http.Request {
				r := get("/orders")
				r.Header.Set("Authorization", "bEaReR "+valid)
				return r
			},
			status: http.StatusOK,
		},
		{
			name:      "no Authorization header",
			req:       func() *http.Request { return get("/orders") },
			status:    http.StatusUnauthorized,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{"resource_metadata": metadataURL}},
		},
		{
			name: "another scheme",
			req: func() *http.Request {
				r := get("/orders")
				r.SetBasicAuth("agent", "secret")
				return r
			},
			status:    http.StatusUnauthorized,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{"resource_metadata": metadataURL}},
		},
		{
			name:   "expired token",
			req:    func() *http.Request { return bearer(get("/orders"), expired) },
			status: http.StatusUnauthorized,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{
				"error":             "invalid_token",
				"error_description": "The token expired.",
				"resource_metadata": metadataURL,
			}},
			body: `{"error":"invalid_token","error_description":"The token expired."}`,
		},
		{
			name:   "garbage token",
			req:    func() *http.Request { return bearer(get("/orders"), "abc.def") },
			status: http.StatusUnauthorized,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{
				"error":             "invalid_token",
				"error_description": "The token is malformed.",
				"resource_metadata": metadataURL,
			}},
		},
		{
			name:   "token in the query",
			req:    func() *http.Request { return get("/orders?access_token=" + valid) },
			status: http.StatusBadRequest,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{
				"error":             "invalid_request",
				"error_description": "Send the access token in the Authorization header, not in the URI.",
				"resource_metadata": metadataURL,
			}},
		},
		{
			name:   "escaped access_token name in the query",
			req:    func() *http.Request { return bearer(get("/orders?%61ccess%5Ftoken=x"), valid) },
			status: http.StatusBadRequest,
		},
		{
			name:   "token in the query next to a header",
			req:    func() *http.Request { return bearer(get("/orders?access_token="+valid), valid) },
			status: http.StatusBadRequest,
		},
		{
			name: "token in a form body",
			req: func() *http.Request {
				return bearer(form("q=1&access_token="+url.QueryEscape(valid)), valid)
			},
			status: http.StatusBadRequest,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{
				"error":             "invalid_request",
				"error_description": "Send the access token in the Authorization header, not in the body.",
				"resource_metadata": metadataURL,
			}},
		},
		{
			name:   "escaped access_token name in a form body",
			req:    func() *http.Request { return bearer(form("access%5Ftoken=x"), valid) },
			status: http.StatusBadRequest,
		},
		{
			name:   "form body without a token reaches the handler whole",
			req:    func() *http.Request { return bearer(form("q=1&token_hint=no"), valid) },
			status: http.StatusOK,
			body:   "agent=agent-app-id body=q=1&token_hint=no",
		},
		{
			name: "two Authorization headers",
			req: func() *http.Request {
				r := bearer(get("/orders"), valid)
				r.Header.Add("Authorization", "Bearer "+valid)
				return r
			},
			status: http.StatusBadRequest,
			challenge: &oauth.Challenge{Scheme: "Bearer", Params: map[string]string{
				"error":             "invalid_request",
				"error_description": "More than one Authorization header.",
				"resource_metadata": metadataURL,
			}},
		},
		{
			name:   "Bearer without a token",
			req:    func() *http.Request { return bearer(get("/orders"), "") },
			status: http.StatusBadRequest,
		},
		{
			name:   "Bearer credential that is not a token",
			req:    func() *http.Request { return bearer(get("/orders"), "a b") },
			status: http.StatusBadRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req())
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if tt.body != "" && strings.TrimSpace(rec.Body.String()) != tt.body {
				t.Errorf("body = %q, want %q", rec.Body, tt.body)
			}
			if strings.Contains(rec.Body.String()+fmt.Sprint(rec.Header()), valid) {
				t.Errorf("the answer echoes the token")
			}
			hdr := rec.Header().Get("WWW-Authenticate")
			if tt.challenge == nil {
				if tt.status == http.StatusOK && hdr != "" {
					t.Errorf("WWW-Authenticate = %q on success", hdr)
				}
				return
			}
			got, err := oauth.ParseChallenges(hdr)
			if err != nil {
				t.Fatalf("ParseChallenges(%q) = %v", hdr, err)
			}
			if diff := cmp.Diff([]oauth.Challenge{*tt.challenge}, got); diff != "" {
				t.Errorf("WWW-Authenticate %q mismatch (-want +got):\n%s", hdr, diff)
			}
		})
	}
}

func TestMiddlewareWithoutMetadataURL(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer())
	rec := httptest.NewRecorder()
	agentid.Middleware(v)(echoPrincipal).ServeHTTP(rec, get("/"))
	if got := rec.Header().Get("WWW-Authenticate"); rec.Code != http.StatusUnauthorized || got != "Bearer" {
		t.Errorf("answer = %d %q, want 401 %q", rec.Code, got, "Bearer")
	}
}

func TestMiddlewareClosedVerifier(t *testing.T) {
	ti := newTestIssuer(t)
	v, err := agentid.NewVerifier(context.Background(), ti.Issuer(), agentid.WithAudience(testAudience))
	if err != nil {
		t.Fatal(err)
	}
	v.Close()
	rec := httptest.NewRecorder()
	agentid.Middleware(v)(echoPrincipal).ServeHTTP(rec, bearer(get("/"), ti.token(t, "RS256", ti.claims(time.Now(), nil), nil)))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", rec.Code)
	}
}

func TestRequireScopesAndRoles(t *testing.T) {
	a := newAuthority(t)
	v := newVerifier(t, a.Issuer())
	now := time.Now()
	obo := issueAgentToken(t, a, tokenOBO, now)               // scp Orders.Read, no roles
	autonomous := issueAgentToken(t, a, tokenAutonomous, now) // roles Orders.Read, Orders.Write
	protect := agentid.Middleware(v)

	tests := []struct {
		name      string
		guard     func(http.Handler) http.Handler
		token     string
		status    int
		challenge string
	}{
		{"scope present", agentid.RequireScopes("Orders.Read"), obo, http.StatusOK, ""},
		{"scope missing", agentid.RequireScopes("Orders.Read", "Orders.Write"), obo, http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="The token lacks a required scope.", scope="Orders.Read Orders.Write"`},
		{"roles are not scopes", agentid.RequireScopes("Orders.Read"), autonomous, http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="The token lacks a required scope.", scope="Orders.Read"`},
		{"roles present", agentid.RequireRoles("Orders.Read", "Orders.Write"), autonomous, http.StatusOK, ""},
		{"role missing", agentid.RequireRoles("Orders.Admin"), autonomous, http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="The token lacks a required app role."`},
		{"scopes are not roles", agentid.RequireRoles("Orders.Read"), obo, http.StatusForbidden,
			`Bearer error="insufficient_scope", error_description="The token lacks a required app role."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			protect(tt.guard(echoPrincipal)).ServeHTTP(rec, bearer(get("/"), tt.token))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
		})
	}

	t.Run("no Middleware before", func(t *testing.T) {
		rec := httptest.NewRecorder()
		agentid.RequireRoles("Orders.Read")(echoPrincipal).ServeHTTP(rec, bearer(get("/"), autonomous))
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", rec.Code)
		}
	})
}

func TestContext(t *testing.T) {
	if p, ok := agentid.FromContext(context.Background()); ok || p != nil {
		t.Errorf("FromContext(empty) = %v, %v; want nil, false", p, ok)
	}
	want := &agentid.Principal{AgentID: "a"}
	if got, ok := agentid.FromContext(agentid.NewContext(context.Background(), want)); !ok || got != want {
		t.Errorf("FromContext(NewContext(p)) = %v, %v; want p, true", got, ok)
	}
	if _, ok := agentid.FromContext(agentid.NewContext(context.Background(), nil)); ok {
		t.Errorf("FromContext(NewContext(nil)) = _, true; want false")
	}
}

func get(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }

func form(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func bearer(r *http.Request, token string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func TestMiddlewareSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	a := newAuthority(t)
	iat := time.Now().Truncate(time.Second)
	v := newVerifier(t, a.Issuer())
	h := agentid.Middleware(v, agentid.WithTracerProvider(tp))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, tok := range []string{issueAgentToken(t, a, tokenAutonomous, iat), "eyJhbGciOiJub25lIn0.e30."} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	spans := rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("recorded %d spans, want 2", len(spans))
	}
	got := []map[string]string{{}, {}}
	for i, s := range spans {
		for _, kv := range s.Attributes() {
			got[i][string(kv.Key)] = kv.Value.String()
		}
	}
	want := []map[string]string{
		{"gen_ai.operation.name": "verify_token", "gen_ai.agent.id": agentID, "passport.agent.kind": "autonomous",
			"passport.delegation.depth": "0", "microsoft.tenant.id": testTenant, "microsoft.a365.agent.blueprint.id": blueprintID},
		{"gen_ai.operation.name": "verify_token", "error.type": "algorithm"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("middleware spans mismatch (-want +got):\n%s", diff)
	}
}
