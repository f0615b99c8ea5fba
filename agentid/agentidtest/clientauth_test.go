package agentidtest_test

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwa"
)

// basicAuth returns an Authorization header value for client_secret_basic,
// encoded as RFC 6749 §2.3.1 requires.
func basicAuth(id, secret string) http.Header {
	raw := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}}
}

func TestClientSecret(t *testing.T) {
	const secret = "p@ss word+/:é"
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("old"), agentidtest.WithSecret(secret))
	scope := "api://orders/.default"
	basicForm := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	withID := func(v url.Values, id string) url.Values {
		v = cloneForm(v)
		v.Set("client_id", id)
		return v
	}
	rawBasic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+secret))}}

	tests := []struct {
		name   string
		form   url.Values
		header http.Header
		want   outcome
	}{
		{"post", secretForm("app", secret, scope), nil, ok},
		{"post with another secret of the client", secretForm("app", "old", scope), nil, ok},
		{"basic", basicForm, basicAuth("app", secret), ok},
		{"basic with matching client_id", withID(basicForm, "app"), basicAuth("app", secret), ok},
		{"basic scheme is case-insensitive", basicForm, http.Header{"Authorization": {"bAsIc " + strings.TrimPrefix(basicAuth("app", secret).Get("Authorization"), "Basic ")}}, ok},
		{"post wrong secret", secretForm("app", "nope", scope), nil,
			outcome{http.StatusBadRequest, "invalid_client", []int{7000215}}},
		{"basic wrong secret", basicForm, basicAuth("app", "nope"),
			outcome{http.StatusUnauthorized, "invalid_client", []int{7000215}}},
		{"basic not form-urlencoded", basicForm, rawBasic,
			outcome{http.StatusUnauthorized, "invalid_client", []int{7000215}}},
		{"basic with other client_id", withID(basicForm, "other"), basicAuth("app", secret),
			outcome{http.StatusUnauthorized, "invalid_client", []int{90023}}},
		{"basic not base64", basicForm, http.Header{"Authorization": {"Basic !!!"}},
			outcome{http.StatusUnauthorized, "invalid_client", []int{90023}}},
		{"post unknown client", secretForm("ghost", secret, scope), nil,
			outcome{http.StatusBadRequest, "invalid_client", []int{700016}}},
		{"post without client_id", url.Values{"grant_type": {"client_credentials"}, "client_secret": {secret}, "scope": {scope}}, nil,
			outcome{http.StatusBadRequest, "invalid_request", []int{900144}}},
		{"no credential", withID(basicForm, "app"), nil,
			outcome{http.StatusBadRequest, "invalid_client", []int{7000218}}},
		{"basic and post", secretForm("app", secret, scope), basicAuth("app", secret),
			outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, tt.header)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
			if tt.want.Status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q, want a Basic challenge", r.header.Get("WWW-Authenticate"))
			}
			if strings.Contains(r.body.ErrorDescription, secret) || strings.Contains(r.body.ErrorDescription, "nope") {
				t.Errorf("error_description %q holds the secret", r.body.ErrorDescription)
			}
		})
	}
}

func TestAuthMethodNotAllowed(t *testing.T) {
	a := agentidtest.NewAuthority(t, agentidtest.WithAuthMethods("private_key_jwt"))
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	tests := []struct {
		name   string
		form   url.Values
		header http.Header
		want   outcome
	}{
		{"post", secretForm("app", "s", "api://x/.default"), nil,
			outcome{http.StatusBadRequest, "invalid_client", []int{7000218}}},
		{"basic", url.Values{"grant_type": {"client_credentials"}, "scope": {"api://x/.default"}}, basicAuth("app", "s"),
			outcome{http.StatusUnauthorized, "invalid_client", []int{7000218}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := postToken(t, a, tt.form, tt.header)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// thumbprints returns the base64url SHA-256 and SHA-1 thumbprints of cert,
// and its SHA-1 thumbprint in hex.
func thumbprints(cert *x509.Certificate) (s256, s1, s1Hex string) {
	a, b := sha256.Sum256(cert.Raw), sha1.Sum(cert.Raw)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(a[:]), enc.EncodeToString(b[:]), strings.ToUpper(hex.EncodeToString(b[:]))
}

// assertionCase is one client assertion a table test sends.
type assertionCase struct {
	name     string
	clientID string                    // form client_id; "" leaves it out
	alg      jwa.SignatureAlgorithm    // signing algorithm
	key      any                       // signing key
	headers  map[string]any            // extra protected headers
	claims   func(map[string]any)      // changes to valid claims of client iss
	iss      string                    // client named by iss and sub
	form     func(url.Values)          // changes to the form
	raw      func(t *testing.T) string // the assertion itself, overriding all above
	want     outcome
}

// assertionAuthority returns an Authority with clients rsa-app (RSA key),
// ec-app (P-256 key) and cert-app (certificate of the second RSA key).
func assertionAuthority(t *testing.T) (*agentidtest.Authority, *x509.Certificate) {
	k := keys()
	cert := selfSigned(t, k.rsa2)
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "rsa-app", agentidtest.WithPublicKey(&k.rsa.PublicKey))
	mustRegister(t, a, "ec-app", agentidtest.WithPublicKey(&k.ec.PublicKey))
	mustRegister(t, a, "cert-app", agentidtest.WithCertificate(cert))
	return a, cert
}

// runAssertionCases sends each case's assertion to a and compares the
// outcome.
func runAssertionCases(t *testing.T, a *agentidtest.Authority, tests []assertionCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var assertion string
			if tt.raw != nil {
				assertion = tt.raw(t)
			} else {
				claims := assertionClaims(tt.iss, a.TokenURL(), time.Now())
				if tt.claims != nil {
					tt.claims(claims)
				}
				assertion = signJWT(t, tt.alg, tt.key, tt.headers, claims)
			}
			form := assertionForm(tt.clientID, assertion, "api://orders/.default")
			if tt.form != nil {
				tt.form(form)
			}
			r := postToken(t, a, form, nil)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("token request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
			if strings.Contains(r.body.ErrorDescription, assertion) {
				t.Errorf("error_description holds the assertion")
			}
		})
	}
}

func TestPrivateKeyJWT(t *testing.T) {
	k := keys()
	a, cert := assertionAuthority(t)
	s256, s1, s1Hex := thumbprints(cert)
	runAssertionCases(t, a, []assertionCase{
		{name: "RS256 key", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa, want: ok},
		{name: "PS256 key", clientID: "rsa-app", iss: "rsa-app", alg: jwa.PS256(), key: k.rsa, want: ok},
		{name: "ES256 key", clientID: "ec-app", iss: "ec-app", alg: jwa.ES256(), key: k.ec, want: ok},
		{name: "PS256 certificate by x5t#S256", clientID: "cert-app", iss: "cert-app", alg: jwa.PS256(), key: k.rsa2,
			headers: map[string]any{"x5t#S256": s256}, want: ok},
		{name: "RS256 certificate by x5t", clientID: "cert-app", iss: "cert-app", alg: jwa.RS256(), key: k.rsa2,
			headers: map[string]any{"x5t": s1}, want: ok},
		{name: "RS256 certificate by hex kid", clientID: "cert-app", iss: "cert-app", alg: jwa.RS256(), key: k.rsa2,
			headers: map[string]any{"kid": s1Hex}, want: ok},
		{name: "certificate not named", clientID: "cert-app", iss: "cert-app", alg: jwa.RS256(), key: k.rsa2, want: ok},
		{name: "client named by iss only", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa, want: ok},
		{name: "aud is the issuer", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			claims: func(c map[string]any) { c["aud"] = a.Issuer() }, want: ok},
		{name: "aud array", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			claims: func(c map[string]any) { c["aud"] = []string{"https://other", a.TokenURL()} }, want: ok},
		{name: "no iat", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			claims: func(c map[string]any) { delete(c, "iat") }, want: ok},
		{name: "expired within leeway", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			claims: func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-5*time.Minute).Unix(), time.Now().Add(-30*time.Second).Unix()
			}, want: ok},
	})
}

func TestPrivateKeyJWTRejected(t *testing.T) {
	k := keys()
	a, _ := assertionAuthority(t)
	now := time.Now()
	invalid := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_client", []int{code}} }
	rsaCase := func(name string, claims func(map[string]any), want outcome) assertionCase {
		return assertionCase{name: name, clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa, claims: claims, want: want}
	}
	hmacKey, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	runAssertionCases(t, a, []assertionCase{
		{name: "bad signature", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa2, want: invalid(700027)},
		rsaCase("wrong aud", func(c map[string]any) { c["aud"] = "https://login.example/token" }, invalid(50013)),
		rsaCase("expired", func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-10*time.Minute).Unix(), now.Add(-5*time.Minute).Unix()
		}, invalid(700024)),
		rsaCase("not yet valid", func(c map[string]any) { c["nbf"] = now.Add(3 * time.Minute).Unix() }, invalid(700024)),
		rsaCase("issued in the future", func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(3*time.Minute).Unix(), now.Add(5*time.Minute).Unix()
		}, invalid(700024)),
		rsaCase("lifetime over 10 minutes", func(c map[string]any) { c["exp"] = now.Add(11 * time.Minute).Unix() }, invalid(700024)),
		rsaCase("no exp", func(c map[string]any) { delete(c, "exp") }, invalid(50013)),
		rsaCase("no jti", func(c map[string]any) { delete(c, "jti") }, invalid(50013)),
		rsaCase("iss not sub", func(c map[string]any) { c["sub"] = "someone-else" }, invalid(700021)),
		rsaCase("iss not client_id", func(c map[string]any) { c["iss"], c["sub"] = "ec-app", "ec-app" }, invalid(700021)),
		{name: "client_id names another client", clientID: "ec-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa, want: invalid(700027)},
		{name: "unknown client", clientID: "ghost", iss: "ghost", alg: jwa.RS256(), key: k.rsa, want: invalid(700016)},
		{name: "alg none", clientID: "rsa-app", want: invalid(700027), raw: func(t *testing.T) string {
			return unsignedJWT(t, assertionClaims("rsa-app", a.TokenURL(), now))
		}},
		{name: "HS256 with the public key as secret", clientID: "rsa-app", iss: "rsa-app", alg: jwa.HS256(), key: hmacKey, want: invalid(700027)},
		{name: "ES256 for an RSA client", clientID: "rsa-app", iss: "rsa-app", alg: jwa.ES256(), key: k.ec, want: invalid(700027)},
		{name: "unregistered certificate", clientID: "cert-app", iss: "cert-app", alg: jwa.RS256(), key: k.rsa2,
			headers: map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}, want: invalid(700027)},
		{name: "crit header", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			headers: map[string]any{"crit": []string{"exp"}, "exp": 1}, want: invalid(50027)},
		{name: "not a JWT", clientID: "rsa-app", want: invalid(50027), raw: func(*testing.T) string { return "not-a-jwt" }},
		{name: "wrong assertion type", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa, want: invalid(50027),
			form: func(f url.Values) {
				f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			}},
		{name: "with a client secret too", clientID: "rsa-app", iss: "rsa-app", alg: jwa.RS256(), key: k.rsa,
			form: func(f url.Values) { f.Set("client_secret", "s") },
			want: outcome{http.StatusBadRequest, "invalid_request", []int{90023}}},
	})
}

func TestPrivateKeyJWTReplay(t *testing.T) {
	k := keys()
	a, _ := assertionAuthority(t)
	claims := assertionClaims("rsa-app", a.TokenURL(), time.Now())
	assertion := signJWT(t, jwa.RS256(), k.rsa, nil, claims)
	if r := postToken(t, a, assertionForm("rsa-app", assertion, "api://x/.default"), nil); r.status != http.StatusOK {
		t.Fatalf("first use: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
	}
	r := postToken(t, a, assertionForm("rsa-app", assertion, "api://x/.default"), nil)
	want := outcome{http.StatusBadRequest, "invalid_client", []int{50013}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("replayed assertion mismatch (-want +got):\n%s", diff)
	}

	// The replay cache is per client: another client may use the same jti.
	other := assertionClaims("ec-app", a.TokenURL(), time.Now())
	other["jti"] = claims["jti"]
	r = postToken(t, a, assertionForm("ec-app", signJWT(t, jwa.ES256(), k.ec, nil, other), "api://x/.default"), nil)
	if r.status != http.StatusOK {
		t.Errorf("same jti, other client: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
	}
}

// cloneForm returns a deep copy of v.
func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
