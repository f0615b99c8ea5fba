package credentials_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func TestParseCertificate(t *testing.T) {
	rsaKey := newRSAKey(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := func(c *x509.Certificate) []byte {
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, ecCert := newCert(t, rsaKey), newCert(t, ecKey)
	tests := []struct {
		name    string
		pem     []byte
		wantErr bool
	}{
		{"PKCS #8 RSA, key first", append(pkcs8(rsaKey), certPEM(rsaCert)...), false},
		{"PKCS #1 RSA", append(certPEM(rsaCert), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})...), false},
		{"SEC 1 EC", append(certPEM(ecCert), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})...), false},
		{"no key", certPEM(rsaCert), true},
		{"no certificate", pkcs8(rsaKey), true},
		{"two keys", append(append(certPEM(rsaCert), pkcs8(rsaKey)...), pkcs8(rsaKey)...), true},
		{"garbage key", append(certPEM(rsaCert), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")})...), true},
		{"not PEM", []byte("hello"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain, key, err := credentials.ParseCertificate(tt.pem)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCertificate() error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(chain) != 1 || key == nil {
				t.Fatalf("ParseCertificate() = %d certificates, key %v", len(chain), key != nil)
			}
			// The parsed pair works as a credential.
			if _, err := credentials.NewClient(credentials.Entra("t"), "id", credentials.Certificate(chain, key)); err != nil {
				t.Errorf("NewClient with the parsed certificate: %v", err)
			}
		})
	}
}

func TestAssertionFileFromEnvironment(t *testing.T) {
	issuer := agentidtest.NewAuthority(t)
	a := agentidtest.NewAuthority(t)
	const subject = "system:serviceaccount:agents:bot"
	if err := a.RegisterClient(testClientID, agentidtest.WithFederatedIdentity(issuer.Issuer(), subject)); err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.IssueToken(map[string]any{"iss": issuer.Issuer(), "sub": subject, "aud": "api://AzureADTokenExchange", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", path)
	c, err := credentials.NewClient(entraAt(a), testClientID, credentials.AssertionFile(""))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() with AZURE_FEDERATED_TOKEN_FILE: %v", err)
	}
	t.Setenv("AZURE_FEDERATED_TOKEN_FILE", "")
	if _, err := credentials.NewClient(entraAt(a), testClientID, credentials.AssertionFile("")); err == nil {
		t.Error("NewClient with no path and no AZURE_FEDERATED_TOKEN_FILE = nil error, want one")
	}
}

func TestTokenAccessors(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok := credentials.NewToken("abc", "", exp)
	if tok.Type() != "Bearer" || tok.AccessToken() != "abc" || !tok.ExpiresAt().Equal(exp) || !tok.RefreshAt().IsZero() {
		t.Errorf("NewToken = {%s %s %v %v}, want {Bearer abc %v zero}", tok.Type(), tok.AccessToken(), tok.ExpiresAt(), tok.RefreshAt(), exp)
	}
	if tok.Expired(exp.Add(-time.Second)) || !tok.Expired(exp) {
		t.Error("Expired() is wrong around the expiry")
	}
	r, _ := http.NewRequest(http.MethodGet, "https://x", nil)
	tok.SetAuthHeader(r)
	if got := r.Header.Get("Authorization"); got != "Bearer abc" {
		t.Errorf("SetAuthHeader: Authorization = %q", got)
	}
}
