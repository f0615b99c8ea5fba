package agentidtest_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// jwtBearer is the client_assertion_type of a JWT client assertion.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenBody holds the fields of a token response or an error response.
type tokenBody struct {
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	ExtExpiresIn     int64  `json:"ext_expires_in"`
	RefreshIn        *int64 `json:"refresh_in"`
	AccessToken      string `json:"access_token"`
	Scope            string `json:"scope"`
	IssuedTokenType  string `json:"issued_token_type"`
	RefreshToken     string `json:"refresh_token"`
	IDToken          string `json:"id_token"`
	ClientInfo       string `json:"client_info"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

// result is the answer of a token request.
type result struct {
	status int
	header http.Header
	body   tokenBody
}

// outcome is the part of an answer the table tests compare.
type outcome struct {
	Status     int
	Error      string
	ErrorCodes []int
}

func (r result) outcome() outcome {
	return outcome{Status: r.status, Error: r.body.Error, ErrorCodes: r.body.ErrorCodes}
}

// ok is the outcome of a successful token request.
var ok = outcome{Status: http.StatusOK}

// postToken posts form to the default tenant's token endpoint of a.
func postToken(t testing.TB, a *agentidtest.Authority, form url.Values, header http.Header) result {
	t.Helper()
	return postTokenTo(t, a.HTTPClient(), a.TokenURL(), form, header)
}

// postTokenTo posts form to tokenURL with client.
func postTokenTo(t testing.TB, client *http.Client, tokenURL string, form url.Values, header http.Header) result {
	t.Helper()
	r, err := tryPostToken(client, tokenURL, form, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryPostToken posts form to tokenURL with client. It may be called from
// any goroutine.
func tryPostToken(client *http.Client, tokenURL string, form url.Values, header http.Header) (result, error) {
	req, err := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for name, values := range header {
		req.Header[name] = values
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("POST %s: %w", tokenURL, err)
	}
	defer resp.Body.Close()
	var body tokenBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return result{}, fmt.Errorf("POST %s: decoding body: %w", tokenURL, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// getJSON gets url with client and decodes its JSON body into v. It
// returns the status.
func getJSON(t testing.TB, client *http.Client, url string, v any) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doJSON(t, client, req, v)
}

// doJSON sends req with client and decodes its JSON body into v. It
// returns the status.
func doJSON(t testing.TB, client *http.Client, req *http.Request, v any) int {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s %s: decoding body: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode
}

// secretForm returns a client_secret_post client credentials form.
func secretForm(clientID, secret, scope string) url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {scope},
	}
}

// assertionForm returns a private_key_jwt client credentials form.
func assertionForm(clientID, assertion, scope string) url.Values {
	f := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {jwtBearer},
		"client_assertion":      {assertion},
		"scope":                 {scope},
	}
	if clientID != "" {
		f.Set("client_id", clientID)
	}
	return f
}

// assertionClaims returns valid claims of a client assertion.
func assertionClaims(clientID, aud string, now time.Time) map[string]any {
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": aud,
		"jti": rand.Text(),
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
}

// signJWT signs claims as a compact JWS with alg and key and the given
// extra protected headers.
func signJWT(t testing.TB, alg jwa.SignatureAlgorithm, key any, headers, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	for name, v := range headers {
		if err := hdr.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatalf("jws.Sign: %v", err)
	}
	return string(tok)
}

// unsignedJWT returns an alg "none" JWT of claims.
func unsignedJWT(t testing.TB, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

// testKeys are client keys for tests.
type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
}

// keys returns the test keys, generated once because RSA generation is
// slow.
var keys = sync.OnceValue(func() testKeys {
	var k testKeys
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.rsa2, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

// selfSigned returns a self-signed certificate for key.
func selfSigned(t testing.TB, key *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "agentidtest client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// fetchKeys fetches the JWKS of a over HTTP.
func fetchKeys(t testing.TB, a *agentidtest.Authority) jwk.Set {
	t.Helper()
	set, err := jwk.Fetch(context.Background(), a.JWKSURL(), jwk.WithHTTPClient(a.HTTPClient()))
	if err != nil {
		t.Fatalf("jwk.Fetch(%s): %v", a.JWKSURL(), err)
	}
	return set
}

// verifiedClaims verifies tok against the JWKS of a, fetched over HTTP,
// and returns its claims.
func verifiedClaims(t testing.TB, a *agentidtest.Authority, tok string) (map[string]any, error) {
	t.Helper()
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(fetchKeys(t, a)))
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims, nil
}

// mustRegister registers a client or fails the test.
func mustRegister(t testing.TB, a *agentidtest.Authority, id string, opts ...agentidtest.ClientOption) {
	t.Helper()
	if err := a.RegisterClient(id, opts...); err != nil {
		t.Fatalf("RegisterClient(%q) = %v, want nil", id, err)
	}
}
