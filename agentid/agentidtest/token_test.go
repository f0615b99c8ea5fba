package agentidtest_test

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestClientCredentialsClaims(t *testing.T) {
	k := keys()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	a := agentidtest.NewAuthority(t,
		agentidtest.WithTenantID("tenant-1"),
		agentidtest.WithClock(func() time.Time { return now }),
		agentidtest.WithTokenLifetime(30*time.Minute),
		agentidtest.WithRefreshIn(15*time.Minute))
	mustRegister(t, a, "orders-agent",
		agentidtest.WithSecret("s"),
		agentidtest.WithPublicKey(&k.ec.PublicKey),
		agentidtest.WithObjectID("11111111-2222-3333-4444-555555555555"),
		agentidtest.WithAppRoles("api://orders", "Orders.Read"),
		agentidtest.WithAppRoles("api://orders", "Orders.Write", "Orders.Read"),
		agentidtest.WithAppRoles("api://billing", "Billing.Read"))

	claims := func(aud string, acr string, extra map[string]any) map[string]any {
		c := map[string]any{
			"iss":    a.Issuer(),
			"aud":    aud,
			"sub":    "11111111-2222-3333-4444-555555555555",
			"oid":    "11111111-2222-3333-4444-555555555555",
			"azp":    "orders-agent",
			"appid":  "orders-agent",
			"azpacr": acr,
			"tid":    "tenant-1",
			"iat":    float64(now.Unix()),
			"nbf":    float64(now.Unix()),
			"exp":    float64(now.Add(30 * time.Minute).Unix()),
			"idtyp":  "app",
			"ver":    "2.0",
		}
		for name, v := range extra {
			c[name] = v
		}
		return c
	}
	assertion := func() string {
		return signJWT(t, jwa.ES256(), k.ec, nil, assertionClaims("orders-agent", a.TokenURL(), now))
	}
	tests := []struct {
		name string
		form url.Values
		want map[string]any
	}{
		{"secret and .default scope", secretForm("orders-agent", "s", "api://orders/.default"),
			claims("api://orders", "1", map[string]any{"roles": []any{"Orders.Read", "Orders.Write"}})},
		{"assertion and .default scope", assertionForm("orders-agent", assertion(), "api://billing/.default"),
			claims("api://billing", "2", map[string]any{"roles": []any{"Billing.Read"}})},
		{"resource with scopes", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"orders-agent"}, "client_secret": {"s"},
			"resource": {"api://orders"}, "scope": {"Orders.Read Orders.Write"},
		}, claims("api://orders", "1", map[string]any{"roles": []any{"Orders.Read", "Orders.Write"}, "scp": "Orders.Read Orders.Write"})},
		{"resource without roles", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"orders-agent"}, "client_secret": {"s"},
			"resource": {"https://graph.example"},
		}, claims("https://graph.example", "1", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, nil)
			if r.status != http.StatusOK {
				t.Fatalf("token request: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
			}
			refreshIn := int64(900)
			wantBody := tokenBody{TokenType: "Bearer", ExpiresIn: 1800, ExtExpiresIn: 1800, RefreshIn: &refreshIn}
			gotBody := r.body
			gotBody.AccessToken = ""
			if diff := cmp.Diff(wantBody, gotBody); diff != "" {
				t.Errorf("token response mismatch (-want +got):\n%s", diff)
			}
			if mt, _, _ := mime.ParseMediaType(r.header.Get("Content-Type")); mt != "application/json" || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Content-Type = %q, Cache-Control = %q, want application/json and no-store",
					r.header.Get("Content-Type"), r.header.Get("Cache-Control"))
			}

			got, err := verifiedClaims(t, a, r.body.AccessToken)
			if err != nil {
				t.Fatalf("verifying the access token against the JWKS: %v", err)
			}
			if jti, _ := got["jti"].(string); jti == "" {
				t.Errorf("jti = %v, want a non-empty string", got["jti"])
			}
			delete(got, "jti")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("access token claims mismatch (-want +got):\n%s", diff)
			}

			// The token also passes jwx's own validation at the
			// Authority's clock.
			_, err = jwt.Parse([]byte(r.body.AccessToken),
				jwt.WithKeySet(fetchKeys(t, a)),
				jwt.WithIssuer(a.Issuer()),
				jwt.WithAudience(tt.want["aud"].(string)),
				jwt.WithClock(jwt.ClockFunc(func() time.Time { return now.Add(time.Minute) })))
			if err != nil {
				t.Errorf("jwt.Parse(access token) = %v, want nil", err)
			}
		})
	}
}

func TestClientCredentialsScopes(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	form := func(kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"s"}}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	invalidScope := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_scope", []int{code}} }
	invalidTarget := outcome{http.StatusBadRequest, "invalid_target", []int{9010010}}
	tests := []struct {
		name string
		form url.Values
		want outcome
	}{
		{"one .default", form("scope", "api://orders/.default"), ok},
		{"URL resource .default", form("scope", "https://graph.microsoft.com/.default"), ok},
		{"no scope", form(), invalidScope(70011)},
		{"two .default", form("scope", "api://a/.default api://b/.default"), invalidScope(1002012)},
		{"delegated scope", form("scope", "api://orders/Orders.Read"), invalidScope(1002012)},
		{"bare /.default", form("scope", "/.default"), invalidScope(1002012)},
		{"resource alone", form("resource", "api://orders"), ok},
		{"resource with its .default", form("resource", "api://orders", "scope", "api://orders/.default"), ok},
		{"resource with another .default", form("resource", "api://orders", "scope", "api://billing/.default"), invalidTarget},
		{"relative resource", form("resource", "orders"), invalidTarget},
		{"resource with fragment", form("resource", "https://orders.example/#x"), invalidTarget},
		{"two resources", form("resource", "api://a", "resource", "api://b"), invalidTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, nil)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	valid := secretForm("app", "s", "api://x/.default").Encode()
	tests := []struct {
		name        string
		method      string
		url         string
		contentType string
		body        string
		want        outcome
	}{
		{"GET", http.MethodGet, a.TokenURL(), "", "",
			outcome{http.StatusMethodNotAllowed, "invalid_request", []int{900561}}},
		{"JSON body", http.MethodPost, a.TokenURL(), "application/json", `{"grant_type":"client_credentials"}`,
			outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
		{"form with charset", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded; charset=utf-8", valid, ok},
		{"unknown tenant", http.MethodPost, a.URL() + "/nobody/oauth2/v2.0/token", "application/x-www-form-urlencoded", valid,
			outcome{http.StatusBadRequest, "invalid_request", []int{90002}}},
		{"no grant_type", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded", "client_id=app",
			outcome{http.StatusBadRequest, "invalid_request", []int{900144}}},
		{"unsupported grant_type", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded", "grant_type=password",
			outcome{http.StatusBadRequest, "unsupported_grant_type", []int{70003}}},
		{"repeated parameter", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded", valid + "&scope=api://y/.default",
			outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
		{"body over 64 KiB", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded", valid + "&pad=" + strings.Repeat("x", 64<<10),
			outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
		{"bad escape", http.MethodPost, a.TokenURL(), "application/x-www-form-urlencoded", "grant_type=%zz",
			outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			var got tokenBody
			status := doJSON(t, a.HTTPClient(), req, &got)
			if diff := cmp.Diff(tt.want, outcome{status, got.Error, got.ErrorCodes}); diff != "" {
				t.Errorf("%s %s mismatch (-want +got):\n%s\n%s", tt.method, tt.url, diff, got.ErrorDescription)
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	a := agentidtest.NewAuthority(t, agentidtest.WithClock(func() time.Time { return now }))
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	const correlation = "3f0a5b2e-0000-4000-8000-000000000001"
	r := postToken(t, a, secretForm("app", "wrong", "api://x/.default"), http.Header{"Client-Request-Id": {correlation}})

	want := tokenBody{
		Error: "invalid_client",
		ErrorDescription: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'app'." +
			"\r\nTrace ID: " + r.body.TraceID + "\r\nCorrelation ID: " + correlation + "\r\nTimestamp: 2031-03-04 04:06:07Z",
		ErrorCodes:    []int{7000215},
		Timestamp:     "2031-03-04 04:06:07Z",
		TraceID:       r.body.TraceID,
		CorrelationID: correlation,
		ErrorURI:      a.URL() + "/error?code=7000215",
	}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("error body mismatch (-want +got):\n%s", diff)
	}
	if len(r.body.TraceID) != 36 {
		t.Errorf("trace_id = %q, want a GUID", r.body.TraceID)
	}
	if got := r.header.Get("client-request-id"); got != correlation {
		t.Errorf("client-request-id response header = %q, want %q", got, correlation)
	}
}

func TestTokenTenants(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	a.AddTenant("second")
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	r := postTokenTo(t, a.HTTPClient(), a.URL()+"/second/oauth2/v2.0/token", secretForm("app", "s", "api://x/.default"), nil)
	if r.status != http.StatusOK {
		t.Fatalf("token request to added tenant: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
	}
	claims, err := verifiedClaims(t, a, r.body.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{"iss": claims["iss"], "tid": claims["tid"]}
	want := map[string]any{"iss": a.IssuerFor("second"), "tid": "second"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token of added tenant mismatch (-want +got):\n%s", diff)
	}
}

func TestTokenConcurrentSafe(t *testing.T) {
	const n = 1000
	a := agentidtest.NewAuthority(t, agentidtest.WithSigningAlgorithm("ES256"))
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	// All n requests are in flight at once; connections are capped so the
	// test fits within small file descriptor limits.
	tr := a.HTTPClient().Transport.(*http.Transport).Clone()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 100, 100
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	var wg sync.WaitGroup
	results := make([]result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = tryPostToken(client, a.TokenURL(), secretForm("app", "s", fmt.Sprintf("api://r%d/.default", i%7)), nil)
		})
	}
	wg.Wait()
	seen := make(map[string]bool, n)
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if r.status != http.StatusOK {
			t.Fatalf("request %d: status %d, want 200 (%s)", i, r.status, r.body.ErrorDescription)
		}
		if seen[r.body.AccessToken] {
			t.Fatalf("request %d: access token issued twice", i)
		}
		seen[r.body.AccessToken] = true
	}
	if got := a.Requests("client_credentials"); got != n {
		t.Errorf("Requests(client_credentials) = %d, want %d", got, n)
	}
}
