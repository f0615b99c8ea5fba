package credentials_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func newRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCert(t testing.TB, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "agent-blueprint"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lastRequest returns the last token request the authority received.
func lastRequest(t *testing.T, a *agentidtest.Authority) agentidtest.TokenRequest {
	t.Helper()
	reqs := a.TokenRequests()
	if len(reqs) == 0 {
		t.Fatal("the authority received no token request")
	}
	return reqs[len(reqs)-1]
}

// decodedAssertion is a client assertion as the server sees it.
type decodedAssertion struct {
	Header map[string]any
	Claims map[string]any
}

func decodeAssertion(t *testing.T, compact string) decodedAssertion {
	t.Helper()
	msg, err := jws.Parse([]byte(compact))
	if err != nil {
		t.Fatalf("client_assertion is not a JWS: %v", err)
	}
	hdrJSON, err := json.Marshal(msg.Signatures()[0].ProtectedHeaders())
	if err != nil {
		t.Fatal(err)
	}
	var d decodedAssertion
	if err := json.Unmarshal(hdrJSON, &d.Header); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(msg.Payload(), &d.Claims); err != nil {
		t.Fatal(err)
	}
	return d
}

// checkAssertionClaims checks the RFC 7523 claims of an assertion.
func checkAssertionClaims(t *testing.T, d decodedAssertion, clientID, aud string) {
	t.Helper()
	for _, name := range []string{"iss", "sub"} {
		if d.Claims[name] != clientID {
			t.Errorf("assertion %s = %v, want %s", name, d.Claims[name], clientID)
		}
	}
	if d.Claims["aud"] != aud {
		t.Errorf("assertion aud = %v, want %s", d.Claims["aud"], aud)
	}
	jti, _ := d.Claims["jti"].(string)
	if len(jti) < 16 {
		t.Errorf("assertion jti = %q, want a unique id", jti)
	}
	iat, _ := d.Claims["iat"].(float64)
	nbf, _ := d.Claims["nbf"].(float64)
	exp, _ := d.Claims["exp"].(float64)
	if iat == 0 || nbf != iat || exp <= iat || exp-iat > 600 {
		t.Errorf("assertion iat/nbf/exp = %v/%v/%v, want nbf = iat < exp <= iat+600", iat, nbf, exp)
	}
}

func TestWireClientAuthentication(t *testing.T) {
	rsaKey := newRSAKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := newCert(t, rsaKey)
	sum := sha256.Sum256(cert.Raw)
	x5tS256 := base64.RawURLEncoding.EncodeToString(sum[:])

	tests := []struct {
		name       string
		aopts      []agentidtest.Option
		register   agentidtest.ClientOption
		cred       credentials.ClientCredential
		entra      bool
		wantForm   url.Values // client_assertion compared apart
		wantBasic  bool
		wantHeader map[string]any // assertion header members checked
		wantAud    func(a *agentidtest.Authority) string
	}{
		{
			name:     "secret at Entra is client_secret_post",
			register: agentidtest.WithSecret(testSecret),
			cred:     credentials.ClientSecret(mustSecret(t, testSecret)),
			entra:    true,
			wantForm: url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret}, "scope": {"api://orders/.default"}},
		},
		{
			name:      "secret at a discovered authority is client_secret_basic",
			register:  agentidtest.WithSecret(testSecret),
			cred:      credentials.ClientSecret(mustSecret(t, testSecret)),
			wantForm:  url.Values{"grant_type": {"client_credentials"}, "scope": {"api://orders/.default"}},
			wantBasic: true,
		},
		{
			name:     "secret where discovery lists only client_secret_post",
			aopts:    []agentidtest.Option{agentidtest.WithAuthMethods("client_secret_post", "private_key_jwt")},
			register: agentidtest.WithSecret(testSecret),
			cred:     credentials.ClientSecret(mustSecret(t, testSecret)),
			wantForm: url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_secret": {testSecret}, "scope": {"api://orders/.default"}},
		},
		{
			name:       "RSA private key, generic: RS256, aud = issuer",
			register:   agentidtest.WithPublicKey(rsaKey.Public()),
			cred:       credentials.PrivateKey(rsaKey, credentials.WithKeyID("k1")),
			wantForm:   url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "scope": {"api://orders/.default"}},
			wantHeader: map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"},
			wantAud:    func(a *agentidtest.Authority) string { return a.Issuer() },
		},
		{
			name:       "EC private key, generic: ES256",
			register:   agentidtest.WithPublicKey(ecKey.Public()),
			cred:       credentials.PrivateKey(ecKey),
			wantForm:   url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "scope": {"api://orders/.default"}},
			wantHeader: map[string]any{"alg": "ES256", "typ": "JWT"},
			wantAud:    func(a *agentidtest.Authority) string { return a.Issuer() },
		},
		{
			name:       "certificate at Entra: PS256 with x5t#S256, aud = token endpoint",
			register:   agentidtest.WithCertificate(cert),
			cred:       credentials.Certificate([]*x509.Certificate{cert}, rsaKey),
			entra:      true,
			wantForm:   url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "scope": {"api://orders/.default"}},
			wantHeader: map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": x5tS256},
			wantAud:    func(a *agentidtest.Authority) string { return a.TokenURL() },
		},
		{
			name:       "certificate at Entra with the chain: x5c",
			register:   agentidtest.WithCertificate(cert),
			cred:       credentials.Certificate([]*x509.Certificate{cert}, rsaKey, credentials.WithX5C()),
			entra:      true,
			wantForm:   url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "scope": {"api://orders/.default"}},
			wantHeader: map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": x5tS256, "x5c": []any{base64.StdEncoding.EncodeToString(cert.Raw)}},
			wantAud:    func(a *agentidtest.Authority) string { return a.TokenURL() },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agentidtest.NewAuthority(t, tt.aopts...)
			if err := a.RegisterClient(testClientID, tt.register); err != nil {
				t.Fatal(err)
			}
			authority := credentials.OIDC(a.Issuer())
			if tt.entra {
				authority = entraAt(a)
			}
			c, err := credentials.NewClient(authority, testClientID, tt.cred)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Token(context.Background(), ordersRead); err != nil {
				t.Fatalf("Token(): %v", err)
			}
			got := lastRequest(t, a)
			form := cloneValues(got.Form)
			assertion := form.Get("client_assertion")
			form.Del("client_assertion")
			if diff := cmp.Diff(tt.wantForm, form); diff != "" {
				t.Errorf("token request form mismatch (-want +got):\n%s", diff)
			}
			if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
				t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", ct)
			}
			if got.Header.Get("client-request-id") == "" {
				t.Error("no client-request-id header")
			}
			wantAuth := ""
			if tt.wantBasic {
				wantAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(testClientID)+":"+url.QueryEscape(testSecret)))
			}
			if auth := got.Header.Get("Authorization"); auth != wantAuth {
				t.Errorf("Authorization = %q, want %q", auth, wantAuth)
			}
			if tt.wantHeader == nil {
				if assertion != "" {
					t.Error("a client_assertion was sent with a secret")
				}
				return
			}
			d := decodeAssertion(t, assertion)
			for k, want := range tt.wantHeader {
				if diff := cmp.Diff(want, d.Header[k]); diff != "" {
					t.Errorf("assertion header %s mismatch (-want +got):\n%s", k, diff)
				}
			}
			if _, ok := d.Header["x5c"]; ok && tt.wantHeader["x5c"] == nil {
				t.Error("assertion header has x5c without WithX5C")
			}
			checkAssertionClaims(t, d, testClientID, tt.wantAud(a))
		})
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func TestWireAssertionsAreFreshPerAttempt(t *testing.T) {
	key := newRSAKey(t)
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithPublicKey(key.Public())); err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(credentials.OIDC(a.Issuer()), testClientID, credentials.PrivateKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a.FailNext(1, 503, agentidtest.OAuthError{Code: "temporarily_unavailable"})
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token(): %v (a retried assertion must carry a new jti, or the server refuses it as a replay)", err)
	}
	reqs := a.TokenRequests()
	if len(reqs) != 2 || reqs[0].Form.Get("client_assertion") == reqs[1].Form.Get("client_assertion") {
		t.Errorf("the retry re-sent the same client assertion")
	}
}

func TestWireFederatedAssertionFile(t *testing.T) {
	issuer := agentidtest.NewAuthority(t) // plays the Kubernetes / workload issuer
	a := agentidtest.NewAuthority(t)
	const subject = "system:serviceaccount:agents:orders-agent"
	if err := a.RegisterClient(testClientID, agentidtest.WithFederatedIdentity(issuer.Issuer(), subject)); err != nil {
		t.Fatal(err)
	}
	mint := func() string {
		tok, err := issuer.IssueToken(map[string]any{
			"iss": issuer.Issuer(), "sub": subject, "aud": "api://AzureADTokenExchange",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	path := filepath.Join(t.TempDir(), "token")
	first := mint()
	if err := os.WriteFile(path, []byte(first+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(entraAt(a), testClientID, credentials.AssertionFile(path))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatalf("Token(): %v", err)
	}
	want := url.Values{"grant_type": {"client_credentials"}, "client_id": {testClientID}, "scope": {"api://orders/.default"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {first}}
	if diff := cmp.Diff(want, lastRequest(t, a).Form); diff != "" {
		t.Errorf("token request form mismatch (-want +got):\n%s", diff)
	}

	// The file rotates in place; the next request reads the new one.
	second := mint()
	if err := os.WriteFile(path, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	c.Invalidate(ordersRead, tok)
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() after rotation: %v", err)
	}
	if got := lastRequest(t, a).Form.Get("client_assertion"); got != second {
		t.Error("after the file changed the old assertion was sent again")
	}
}

func TestWireFederatedAssertionFunc(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	issuer := agentidtest.NewAuthority(t)
	const subject = "spiffe://example.org/agent/orders"
	if err := a.RegisterClient(testClientID, agentidtest.WithFederatedIdentity(issuer.Issuer(), subject)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	cred := credentials.AssertionFunc(func(ctx context.Context) (string, error) {
		calls++
		return issuer.IssueToken(map[string]any{
			"iss": issuer.Issuer(), "sub": subject, "aud": []string{"api://AzureADTokenExchange"},
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		})
	})
	c, err := credentials.NewClient(entraAt(a), testClientID, cred)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token(): %v", err)
	}
	if calls != 1 {
		t.Errorf("assertion func called %d times, want 1", calls)
	}
	if f := lastRequest(t, a).Form; f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || strings.Count(f.Get("client_assertion"), ".") != 2 {
		t.Errorf("form = %v, want a JWT client assertion", f)
	}
}

func TestWireResourceIndicator(t *testing.T) {
	tests := []struct {
		name  string
		entra bool
		req   credentials.Request
		want  url.Values
	}{
		{"Entra turns a resource into a .default scope", true, credentials.Request{Resource: "api://orders"},
			url.Values{"grant_type": {"client_credentials"}, "scope": {"api://orders/.default"}}},
		{"a generic authority gets resource (RFC 8707)", false, credentials.Request{Scopes: []string{"orders.read"}, Resource: "https://orders.example"},
			url.Values{"grant_type": {"client_credentials"}, "scope": {"orders.read"}, "resource": {"https://orders.example"}}},
		{"claims are sent", true, credentials.Request{Scopes: []string{"api://orders/.default"}, Claims: `{"access_token":{"xms_cc":{"values":["cp1"]}}}`},
			url.Values{"grant_type": {"client_credentials"}, "scope": {"api://orders/.default"}, "claims": {`{"access_token":{"xms_cc":{"values":["cp1"]}}}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agentidtest.NewAuthority(t)
			if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
				t.Fatal(err)
			}
			authority := credentials.OIDC(a.Issuer())
			if tt.entra {
				authority = entraAt(a)
			}
			c, err := credentials.NewClient(authority, testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Token(context.Background(), tt.req); err != nil {
				t.Fatalf("Token(%+v): %v", tt.req, err)
			}
			form := cloneValues(lastRequest(t, a).Form)
			form.Del("client_id")
			form.Del("client_secret")
			if diff := cmp.Diff(tt.want, form); diff != "" {
				t.Errorf("token request form mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func newCertSlice(t testing.TB, key crypto.Signer) []*x509.Certificate {
	return []*x509.Certificate{newCert(t, key)}
}
