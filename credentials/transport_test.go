package credentials_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/credentials"
)

// resource is a protected API that records what reached it.
type resource struct {
	mu      sync.Mutex // guards the fields below
	tokens  []string
	bodies  []string
	respond func(n int, token string, w http.ResponseWriter) // n counts from 0
}

func (r *resource) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	tok := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	r.mu.Lock()
	n := len(r.tokens)
	r.tokens = append(r.tokens, tok)
	r.bodies = append(r.bodies, string(body))
	r.mu.Unlock()
	if r.respond != nil {
		r.respond(n, tok, w)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func newResource(t *testing.T, respond func(n int, token string, w http.ResponseWriter)) (*resource, *httptest.Server) {
	r := &resource{respond: respond}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func TestTransportAttachesTokenWithoutTouchingTheRequest(t *testing.T) {
	_, c := newSecretClient(t, nil)
	res, srv := newResource(t, nil)
	hc := &http.Client{Transport: credentials.NewTransport(c, ordersRead)}
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tok, _ := c.Token(context.Background(), ordersRead)
	if diff := cmp.Diff([]string{tok.AccessToken()}, res.tokens); diff != "" {
		t.Errorf("tokens at the resource mismatch (-want +got):\n%s", diff)
	}
	if got := req.Header.Get("Authorization"); got != "" {
		t.Errorf("the caller's request was changed: Authorization = %q", got)
	}
}

// recordingTransport stands for the network: it records and answers 200.
type recordingTransport struct{ hosts []string }

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.hosts = append(rt.hosts, r.URL.Host)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func TestTransportRefusesPlainHTTP(t *testing.T) {
	a, c := newSecretClient(t, nil)
	rec := &recordingTransport{}
	tests := []struct {
		name    string
		url     string
		opts    []credentials.TransportOption
		refused bool
	}{
		{"http to a remote host", "http://orders.example/x", nil, true},
		{"https", "https://orders.example/x", nil, false},
		{"http to loopback", "http://127.0.0.1:9/x", nil, false},
		{"http to localhost", "http://localhost:9/x", nil, false},
		{"http to ::1", "http://[::1]:9/x", nil, false},
		{"http with WithInsecureHTTP", "http://orders.example/x", []credentials.TransportOption{credentials.WithInsecureHTTP()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := credentials.NewTransport(c, ordersRead, append(tt.opts, credentials.WithBaseTransport(rec))...)
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			_, err := tr.RoundTrip(req)
			if got := errors.Is(err, credentials.ErrInsecureHTTP); got != tt.refused {
				t.Errorf("RoundTrip(%s) error = %v, refused = %v, want %v", tt.url, err, got, tt.refused)
			}
		})
	}
	if got := a.Requests(grantCC); got != 1 {
		t.Errorf("token requests = %d, want 1 (a refused request gets no token)", got)
	}
}

func TestTransportRetriesOnceOnInvalidToken(t *testing.T) {
	a, c := newSecretClient(t, nil)
	res, srv := newResource(t, func(n int, _ string, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="revoked"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	hc := &http.Client{Transport: credentials.NewTransport(c, ordersRead)}
	resp, err := hc.Post(srv.URL, "application/json", bytes.NewReader([]byte(`{"refund":10}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200 after one retry", resp.StatusCode)
	}
	if len(res.tokens) != 2 || res.tokens[0] == res.tokens[1] {
		t.Errorf("the resource saw tokens %d time(s), distinct = %v; want 2 distinct", len(res.tokens), len(res.tokens) == 2 && res.tokens[0] != res.tokens[1])
	}
	if diff := cmp.Diff([]string{`{"refund":10}`, `{"refund":10}`}, res.bodies); diff != "" {
		t.Errorf("bodies mismatch (-want +got):\n%s", diff)
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
}

func TestTransportRetriesAtMostOnce(t *testing.T) {
	_, c := newSecretClient(t, nil)
	res, srv := newResource(t, func(_ int, _ string, w http.ResponseWriter) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	resp, err := (&http.Client{Transport: credentials.NewTransport(c, ordersRead)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(res.tokens) != 2 {
		t.Errorf("status %d after %d sends, want 401 after 2", resp.StatusCode, len(res.tokens))
	}
}

func TestTransportNoRetry(t *testing.T) {
	tests := []struct {
		name   string
		header string
		body   func() io.Reader
	}{
		{"no challenge", "", nil},
		{"another scheme", `Basic realm="x"`, nil},
		{"insufficient_scope", `Bearer error="insufficient_scope", scope="orders.write"`, nil},
		{"a body that cannot be replayed", `Bearer error="invalid_token"`, func() io.Reader { return io.NopCloser(strings.NewReader("x")) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newSecretClient(t, nil)
			res, srv := newResource(t, func(_ int, _ string, w http.ResponseWriter) {
				if tt.header != "" {
					w.Header().Set("WWW-Authenticate", tt.header)
				}
				w.WriteHeader(http.StatusUnauthorized)
			})
			var body io.Reader
			if tt.body != nil {
				body = tt.body()
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body)
			resp, err := credentials.NewTransport(c, ordersRead).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(res.tokens) != 1 {
				t.Errorf("the request was sent %d times, want 1", len(res.tokens))
			}
		})
	}
}

func TestTransportAnswersClaimsChallenge(t *testing.T) {
	a, c := newSecretClient(t, nil)
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1702682181"}}}`
	_, srv := newResource(t, func(n int, _ string, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="`+base64.StdEncoding.EncodeToString([]byte(claims))+`"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	resp, err := (&http.Client{Transport: credentials.NewTransport(c, ordersRead)}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if got := lastRequest(t, a).Form.Get("claims"); got != claims {
		t.Errorf("claims sent to the authority = %q, want %q", got, claims)
	}
}

func TestTokenSourceAdapter(t *testing.T) {
	_, c := newSecretClient(t, nil)
	ot, err := credentials.TokenSource(c, ordersRead).Token()
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := c.Token(context.Background(), ordersRead)
	if ot.AccessToken != tok.AccessToken() || ot.TokenType != "Bearer" || !ot.Expiry.Equal(tok.ExpiresAt()) || !ot.Valid() {
		t.Errorf("oauth2 token = {%s, %v, valid %v}, want the source's token, type Bearer, expiry %v", ot.TokenType, ot.Expiry, ot.Valid(), tok.ExpiresAt())
	}
}

func TestPerRPCCredentials(t *testing.T) {
	_, c := newSecretClient(t, nil)
	p := credentials.NewPerRPCCredentials(c, ordersRead)
	md, err := p.GetRequestMetadata(context.Background(), "https://orders.example/Orders/Get")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := c.Token(context.Background(), ordersRead)
	if diff := cmp.Diff(map[string]string{"authorization": "Bearer " + tok.AccessToken()}, md); diff != "" {
		t.Errorf("metadata mismatch (-want +got):\n%s", diff)
	}
	if !p.RequireTransportSecurity() {
		t.Error("RequireTransportSecurity() = false, want true by default")
	}
	if credentials.NewPerRPCCredentials(c, ordersRead, credentials.WithInsecureHTTP()).RequireTransportSecurity() {
		t.Error("RequireTransportSecurity() with WithInsecureHTTP = true, want false")
	}
}
