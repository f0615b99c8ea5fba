package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

// metadataServer serves an RFC 8414 document only (no OpenID Connect
// discovery), naming issuer and the token endpoint of a.
func metadataServer(t *testing.T, a *agentidtest.Authority, issuer func(self string) string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/oauth-authorization-server" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                issuer(srv.URL),
			"token_endpoint":                        a.TokenURL(),
			"token_endpoint_auth_methods_supported": []string{"client_secret_basic"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOIDCFallsBackToRFC8414(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	srv := metadataServer(t, a, func(self string) string { return self })
	c, err := credentials.NewClient(credentials.OIDC(srv.URL), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() through RFC 8414 metadata: %v", err)
	}
	if got := lastRequest(t, a).Header.Get("Authorization"); got == "" {
		t.Error("client_secret_basic listed alone, but no Basic authorization was sent")
	}
}

func TestOIDCRefusesAnotherIssuer(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	srv := metadataServer(t, a, func(string) string { return "https://attacker.example" })
	c, err := credentials.NewClient(credentials.OIDC(srv.URL), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err == nil {
		t.Fatal("Token() succeeded with metadata naming another issuer")
	}
	if got := a.Requests(""); got != 0 {
		t.Errorf("the secret was sent %d time(s) to an endpoint named by a mismatched document", got)
	}
}

func TestOIDCRefusesPlainHTTPTokenEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": "http://" + r.Host, "token_endpoint": "http://login.example.com/token"})
	}))
	defer srv.Close()
	c, err := credentials.NewClient(credentials.OIDC(srv.URL), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); !errors.Is(err, credentials.ErrInsecureHTTP) {
		t.Errorf("Token() = %v, want ErrInsecureHTTP", err)
	}
}

func TestStaticEndpoints(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(credentials.Endpoints{TokenURL: a.TokenURL(), Issuer: a.Issuer()}, testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token(): %v", err)
	}
	if _, err := c.Token(context.Background(), credentials.Request{Scopes: []string{"x/.default"}, TenantID: "other"}); !errors.Is(err, credentials.ErrInvalidRequest) {
		t.Errorf("a tenant override on static endpoints = %v, want ErrInvalidRequest", err)
	}
}

func TestNewClientValidates(t *testing.T) {
	key := newRSAKey(t)
	other := newRSAKey(t)
	tests := []struct {
		name      string
		authority credentials.Authority
		clientID  string
		cred      credentials.ClientCredential
		opts      []credentials.Option
	}{
		{"nil authority", nil, "id", credentials.ClientSecret(mustSecret(t, "s")), nil},
		{"empty client id", credentials.Entra("t"), "", credentials.ClientSecret(mustSecret(t, "s")), nil},
		{"nil credential", credentials.Entra("t"), "id", nil, nil},
		{"zero secret", credentials.Entra("t"), "id", credentials.ClientSecret(credentials.Secret{}), nil},
		{"nil key", credentials.Entra("t"), "id", credentials.PrivateKey(nil), nil},
		{"certificate of another key", credentials.Entra("t"), "id", credentials.Certificate(nil, key), nil},
		{"key not matching certificate", credentials.Entra("t"), "id", credentials.Certificate(newCertSlice(t, other), key), nil},
		{"nil assertion func", credentials.Entra("t"), "id", credentials.AssertionFunc(nil), nil},
		{"negative skew", credentials.Entra("t"), "id", credentials.ClientSecret(mustSecret(t, "s")), []credentials.Option{credentials.WithExpirySkew(-1)}},
		{"zero cache size", credentials.Entra("t"), "id", credentials.ClientSecret(mustSecret(t, "s")), []credentials.Option{credentials.WithCacheSize(0)}},
		{"short store key", credentials.Entra("t"), "id", credentials.ClientSecret(mustSecret(t, "s")), []credentials.Option{credentials.WithStore(credentials.NewMemoryStore(), []byte("short"))}},
		{"zero retries", credentials.Entra("t"), "id", credentials.ClientSecret(mustSecret(t, "s")), []credentials.Option{credentials.WithRetry(0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := credentials.NewClient(tt.authority, tt.clientID, tt.cred, tt.opts...); err == nil {
				c.Close()
				t.Errorf("NewClient(%s) = nil error, want one", tt.name)
			}
		})
	}
}

func TestOIDCIssuerWithTrailingSlash(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	// The issuer is "http://host/" exactly, slash included.
	srv := metadataServer(t, a, func(self string) string { return self + "/" })
	c, err := credentials.NewClient(credentials.OIDC(srv.URL+"/"), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() with an issuer ending in a slash: %v", err)
	}
}
