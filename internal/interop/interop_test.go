package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/oauth2"

	"github.com/agentpassport/passport/credentials"
)

// The clients of the provider. serviceID and serviceSecret are the
// client_credentials service user that storage.NewStorageWithClients
// registers by itself; the others are registered by startProvider.
const (
	serviceID     = "sid1"
	serviceSecret = "verysecret"

	// webClientID is the confidential client that signs users in and
	// exchanges tokens (storage.WebClient: client_secret_basic).
	webClientID = "web"
	webSecret   = "secret"

	// apiClientID is the resource server that introspects the tokens
	// exchanged for it.
	apiClientID = "api"
	apiSecret   = "secret"

	// redirectURI is where the provider sends authorization codes. Nothing
	// listens there: the test reads the code from the redirect.
	redirectURI = "https://app.example.test/callback"
)

// The users of storage.NewUserStore: adminID may be impersonated, userID
// may not.
const (
	adminID = "id1"
	userID  = "id2"
)

// provider is the zitadel example OP, serving on loopback, with a record
// of the forms posted to it.
type provider struct {
	issuer    string
	users     storage.UserStore
	endpoints endpoints
	tokenPath string // the path of endpoints.Token
	hc        *http.Client

	mu    sync.Mutex // guards posts
	posts []post
}

// post is a form posted to the provider.
type post struct {
	Path   string
	Client string // the HTTP Basic user name; "" without Basic auth
	Form   url.Values
}

// endpoints are the provider's, from its discovery document.
type endpoints struct {
	Authorization string `json:"authorization_endpoint"`
	Token         string `json:"token_endpoint"`
	Userinfo      string `json:"userinfo_endpoint"`
	Introspection string `json:"introspection_endpoint"`
	JWKS          string `json:"jwks_uri"`
}

// users is the example's user store with a profile for the service user
// added: the example storage keeps its client_credentials service users
// apart from its users, and its userinfo endpoint answers only for
// subjects its UserStore knows.
type users struct{ storage.UserStore }

func (u users) GetUserByID(id string) *storage.User {
	if id == serviceID {
		return &storage.User{ID: serviceID, Username: serviceID}
	}
	return u.UserStore.GetUserByID(id)
}

// startProvider starts the example OP as exampleop.SetupServer builds it
// (an http issuer, which it allows with op.WithAllowInsecure), with the
// example storage, on a loopback httptest server closed when the test
// ends.
func startProvider(t *testing.T) *provider {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	// No trailing slash: credentials.OIDC trims it, then requires the
	// discovery document's issuer to be exactly the trimmed one.
	issuer := "http://" + srv.Listener.Addr().String()
	p := &provider{issuer: issuer, users: users{storage.NewUserStore(issuer)}}
	// The test's own client map rather than storage.RegisterClients,
	// which fills a package-level one.
	clients := map[string]*storage.Client{
		webClientID: storage.WebClient(webClientID, webSecret, redirectURI),
		apiClientID: storage.WebClient(apiClientID, apiSecret, redirectURI),
	}
	router := exampleop.SetupServer(issuer, storage.NewStorageWithClients(p.users, clients), nil, false)
	srv.Config.Handler = p.record(router)
	srv.Start()
	t.Cleanup(srv.Close)
	p.hc = srv.Client()

	resp, err := p.hc.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p.endpoints); err != nil {
		t.Fatalf("decoding the discovery document: %v", err)
	}
	u, err := url.Parse(p.endpoints.Token)
	if err != nil {
		t.Fatalf("token endpoint: %v", err)
	}
	p.tokenPath = u.Path
	return p
}

// record wraps the provider's handler to keep every form posted to it.
func (p *provider) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			client, _, _ := r.BasicAuth()
			p.mu.Lock()
			p.posts = append(p.posts, post{Path: r.URL.Path, Client: client, Form: form})
			p.mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})
}

// tokenRequests returns the forms posted to the token endpoint so far.
func (p *provider) tokenRequests() []post {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []post
	for _, q := range p.posts {
		if q.Path == p.tokenPath {
			out = append(out, q)
		}
	}
	return out
}

// login signs the user id in through the example's login form, in the
// authorization code flow of the web client, and returns the access token
// and ID token the provider issues.
func (p *provider) login(t *testing.T, id string, scopes ...string) (accessToken, idToken string) {
	t.Helper()
	user := p.users.GetUserByID(id)
	if user == nil {
		t.Fatalf("no user %q in the example user store", id)
	}
	cfg := &oauth2.Config{
		ClientID:     webClientID,
		ClientSecret: webSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.endpoints.Authorization, TokenURL: p.endpoints.Token, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  redirectURI,
		Scopes:       scopes,
	}
	hc := *p.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	const state = "interop"
	form := p.redirect(t, &hc, http.MethodGet, cfg.AuthCodeURL(state), nil)
	callback := p.redirect(t, &hc, http.MethodPost, form.Scheme+"://"+form.Host+form.Path, url.Values{
		"id":       {form.Query().Get("authRequestID")},
		"username": {user.Username},
		"password": {user.Password},
	})
	back := p.redirect(t, &hc, http.MethodGet, callback.String(), nil)
	if got := back.Query().Get("state"); got != state {
		t.Fatalf("login: redirect to %s, want state %q", back.Redacted(), state)
	}
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, &hc)
	tok, err := cfg.Exchange(ctx, back.Query().Get("code"))
	if err != nil {
		t.Fatalf("login: code exchange: %v", err)
	}
	idToken, _ = tok.Extra("id_token").(string)
	if idToken == "" {
		t.Fatal("login: no id_token in the token response")
	}
	return tok.AccessToken, idToken
}

// redirect sends a request that must be answered with a redirect and
// returns where it leads.
func (p *provider) redirect(t *testing.T, hc *http.Client, method, target string, form url.Values) *url.URL {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("login: %s %s = %s, want a redirect", method, req.URL.Path, resp.Status)
	}
	return loc
}

// userinfo returns the provider's userinfo for an access token
// (OpenID Connect Core §5.3).
func (p *provider) userinfo(t *testing.T, accessToken string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.endpoints.Userinfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return p.getJSON(t, req)
}

// introspect returns the provider's introspection of token (RFC 7662),
// asked by the client id.
func (p *provider) introspect(t *testing.T, id, secret, token string) map[string]any {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, p.endpoints.Introspection, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	return p.getJSON(t, req)
}

// verify checks the signature of a JWT against the provider's JWKS and
// returns its claims.
func (p *provider) verify(t *testing.T, token string) map[string]any {
	t.Helper()
	resp, err := p.hc.Get(p.endpoints.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jwk.Parse(body)
	if err != nil {
		t.Fatalf("parsing the provider's JWKS: %v", err)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(keys, jws.WithInferAlgorithmFromKey(true)))
	if err != nil {
		t.Fatalf("jws.Verify(token, provider JWKS) = %v, want a valid signature", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	exp, _ := claims["exp"].(float64)
	if now := float64(time.Now().Unix()); exp <= now {
		t.Errorf("JWT exp = %v, want after now (%v)", exp, now)
	}
	return claims
}

func (p *provider) getJSON(t *testing.T, req *http.Request) map[string]any {
	t.Helper()
	resp, err := p.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s = %s %s, want 200", req.Method, req.URL.Path, resp.Status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return out
}

func newClient(t *testing.T, p *provider, id, secret string, opts ...credentials.Option) *credentials.Client {
	t.Helper()
	s, err := credentials.NewSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(credentials.OIDC(p.issuer), id, credentials.ClientSecret(s), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// volatile are the claims that change from one token to the next.
var volatile = cmpopts.IgnoreMapEntries(func(k string, _ any) bool {
	switch k {
	case "exp", "iat", "nbf", "auth_time", "jti", "at_hash":
		return true
	}
	return false
})
