package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Dialect is the wire protocol an authority speaks for delegated and
// agent flows.
type Dialect int

const (
	// DialectAuto lets the authority decide: Entra authorities speak
	// [DialectEntra], all others [DialectRFC8693].
	DialectAuto Dialect = iota
	// DialectEntra is Microsoft Entra's protocol: jwt-bearer on-behalf-of,
	// fmi_path agent identities, user_fic agent users.
	DialectEntra
	// DialectRFC8693 is OAuth 2.0 Token Exchange (RFC 8693).
	DialectRFC8693
)

// String returns the dialect's name.
func (d Dialect) String() string {
	switch d {
	case DialectAuto:
		return "auto"
	case DialectEntra:
		return "entra"
	case DialectRFC8693:
		return "rfc8693"
	}
	return fmt.Sprintf("credentials.Dialect(%d)", int(d))
}

// Authority is an authorization server: where a [Client] sends its token
// requests. Build one with [Entra], [OIDC] or an [Endpoints] literal.
// An Authority is immutable and safe for concurrent use.
type Authority interface {
	// resolve returns the endpoints for tenant ("" = the authority's own).
	resolve(ctx context.Context, r *resolver, tenant string) (*metadata, error)
	// id names the authority in cache keys.
	id() string
	// dialect is the protocol the authority speaks for delegated flows,
	// known without any network call.
	dialect() Dialect
}

// metadata is what a Client needs to know about an authority.
type metadata struct {
	issuer           string
	tokenURL         string
	jwksURL          string
	authMethods      []string // token_endpoint_auth_methods_supported; nil = unknown
	signingAlgs      []string // token_endpoint_auth_signing_alg_values_supported
	dialect          Dialect
	exchangeAudience string // Entra's token-exchange audience, e.g. api://AzureADTokenExchange
	entra            bool
}

// resolver fetches discovery documents for a Client. It is not exported:
// each Client owns one.
type resolver struct {
	hc       *http.Client
	insecure bool

	mu    sync.Mutex // guards cache
	cache map[string]cachedMetadata
}

type cachedMetadata struct {
	md      *metadata
	fetched time.Time
}

// discoveryTTL is how long a discovery document is used before it is
// fetched again.
const discoveryTTL = 24 * time.Hour

// maxDiscoveryBytes bounds a discovery document.
const maxDiscoveryBytes = 1 << 20

// Cloud is a Microsoft Entra cloud: its login host and the audience of
// its token-exchange (federated credential) tokens.
type Cloud struct {
	// Host is the authority host URL, e.g. "https://login.microsoftonline.com".
	Host string
	// ExchangeAudience is the audience of tokens exchanged for agent
	// identities and federated credentials, e.g. "api://AzureADTokenExchange".
	ExchangeAudience string
}

// The Entra clouds.
var (
	AzurePublic       = Cloud{Host: "https://login.microsoftonline.com", ExchangeAudience: "api://AzureADTokenExchange"}
	AzureChina        = Cloud{Host: "https://login.chinacloudapi.cn", ExchangeAudience: "api://AzureADTokenExchangeChina"}
	AzureUSGovernment = Cloud{Host: "https://login.microsoftonline.us", ExchangeAudience: "api://AzureADTokenExchangeUSGov"}
	AzureFrance       = Cloud{Host: "https://login.sovcloud-identity.fr", ExchangeAudience: "api://AzureADTokenExchangeFrance"}
	AzureGermany      = Cloud{Host: "https://login.sovcloud-identity.de", ExchangeAudience: "api://AzureADTokenExchangeGermany"}
)

var knownClouds = []Cloud{AzurePublic, AzureChina, AzureUSGovernment, AzureFrance, AzureGermany}

// EntraOption configures [Entra].
type EntraOption interface{ applyEntra(*entraAuthority) }

type entraOptionFunc func(*entraAuthority)

func (f entraOptionFunc) applyEntra(a *entraAuthority) { f(a) }

// WithCloud selects the Entra cloud. The default is [AzurePublic].
func WithCloud(c Cloud) EntraOption {
	return entraOptionFunc(func(a *entraAuthority) { a.cloud = c })
}

// WithAuthorityHost sets the authority host, e.g. for a sovereign cloud
// by URL or for a local authority in tests. The exchange audience is the
// one of the known cloud with that host, else that of [AzurePublic].
func WithAuthorityHost(host string) EntraOption {
	return entraOptionFunc(func(a *entraAuthority) {
		host = strings.TrimRight(host, "/")
		a.cloud = Cloud{Host: host, ExchangeAudience: AzurePublic.ExchangeAudience}
		for _, c := range knownClouds {
			if strings.EqualFold(c.Host, host) {
				a.cloud = c
			}
		}
	})
}

// Entra returns the Microsoft Entra ID authority for tenant (a tenant id
// or domain), in the public cloud unless an option says otherwise. Its
// token endpoint is {host}/{tenant}/oauth2/v2.0/token; no discovery
// request is made.
func Entra(tenant string, opts ...EntraOption) Authority {
	a := &entraAuthority{tenant: tenant, cloud: AzurePublic}
	for _, o := range opts {
		o.applyEntra(a)
	}
	return a
}

type entraAuthority struct {
	tenant string
	cloud  Cloud
}

func (a *entraAuthority) id() string       { return "entra " + a.cloud.Host + " " + a.tenant }
func (a *entraAuthority) dialect() Dialect { return DialectEntra }

func (a *entraAuthority) resolve(_ context.Context, r *resolver, tenant string) (*metadata, error) {
	if tenant == "" {
		tenant = a.tenant
	}
	if !validTenant(tenant) {
		return nil, fmt.Errorf("%w: tenant id %q is not a GUID or domain name", ErrInvalidRequest, tenant)
	}
	base := a.cloud.Host + "/" + tenant
	md := &metadata{
		issuer:           base + "/v2.0",
		tokenURL:         base + "/oauth2/v2.0/token",
		jwksURL:          base + "/discovery/v2.0/keys",
		authMethods:      []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
		signingAlgs:      []string{"PS256", "RS256"},
		dialect:          DialectEntra,
		exchangeAudience: a.cloud.ExchangeAudience,
		entra:            true,
	}
	if err := r.checkURL(md.tokenURL); err != nil {
		return nil, err
	}
	return md, nil
}

// OIDC returns the authority whose issuer URL is issuer. Its endpoints
// come from OpenID Connect discovery ({issuer}/.well-known/openid-configuration)
// or, failing that, RFC 8414 ({origin}/.well-known/oauth-authorization-server{path});
// the document is fetched on first use, cached for 24 hours, and refused
// when its "issuer" differs from issuer exactly as given, trailing slash
// included (RFC 8414 §3.3).
func OIDC(issuer string) Authority {
	return &oidcAuthority{issuer: issuer}
}

type oidcAuthority struct{ issuer string }

func (a *oidcAuthority) id() string       { return "oidc " + a.issuer }
func (a *oidcAuthority) dialect() Dialect { return DialectRFC8693 }

func (a *oidcAuthority) resolve(ctx context.Context, r *resolver, tenant string) (*metadata, error) {
	if tenant != "" {
		return nil, fmt.Errorf("%w: a tenant override needs an Entra authority", ErrInvalidRequest)
	}
	return r.discover(ctx, a.issuer)
}

// Endpoints is an authority given by its endpoints, with no discovery.
type Endpoints struct {
	// TokenURL is the token endpoint. Required.
	TokenURL string
	// Issuer is the authorization server's issuer identifier, used as an
	// audience of client assertions besides TokenURL. Optional.
	Issuer string
	// JWKSURL is where the authority publishes its keys. Optional.
	JWKSURL string
	// AuthMethods lists the client authentication methods the token
	// endpoint accepts, as in RFC 8414; empty means client_secret_basic
	// and private_key_jwt.
	AuthMethods []string
	// SigningAlgs lists the algorithms accepted for client assertions;
	// empty means RS256 and ES256.
	SigningAlgs []string
	// Dialect is the protocol for delegated flows; DialectAuto means
	// RFC 8693.
	Dialect Dialect
}

func (e Endpoints) id() string { return "static " + e.TokenURL }

func (e Endpoints) dialect() Dialect {
	if e.Dialect == DialectAuto {
		return DialectRFC8693
	}
	return e.Dialect
}

func (e Endpoints) resolve(_ context.Context, r *resolver, tenant string) (*metadata, error) {
	if tenant != "" {
		return nil, fmt.Errorf("%w: a tenant override needs an Entra authority", ErrInvalidRequest)
	}
	if e.TokenURL == "" {
		return nil, fmt.Errorf("%w: Endpoints.TokenURL is empty", ErrInvalidRequest)
	}
	if err := r.checkURL(e.TokenURL); err != nil {
		return nil, err
	}
	md := &metadata{
		issuer:      e.Issuer,
		tokenURL:    e.TokenURL,
		jwksURL:     e.JWKSURL,
		authMethods: e.AuthMethods,
		signingAlgs: e.SigningAlgs,
		dialect:     e.Dialect,
	}
	if md.dialect == DialectAuto {
		md.dialect = DialectRFC8693
	}
	return md, nil
}

// checkURL refuses a URL that is not https, unless it points at a
// loopback host or the client allows insecure HTTP.
func (r *resolver) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: %q is not an absolute URL", ErrInvalidRequest, raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && (r.insecure || isLoopback(u.Hostname())):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%w: %s", ErrInsecureHTTP, u.Redacted())
	}
	return fmt.Errorf("%w: unsupported URL scheme %q", ErrInvalidRequest, u.Scheme)
}

type discoveryDocument struct {
	Issuer               string   `json:"issuer"`
	TokenEndpoint        string   `json:"token_endpoint"`
	JWKSURI              string   `json:"jwks_uri"`
	AuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	AuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	GrantTypesSupported  []string `json:"grant_types_supported"`
}

// discover fetches and caches the metadata of issuer.
func (r *resolver) discover(ctx context.Context, issuer string) (*metadata, error) {
	r.mu.Lock()
	if c, ok := r.cache[issuer]; ok && time.Since(c.fetched) < discoveryTTL {
		r.mu.Unlock()
		return c.md, nil
	}
	r.mu.Unlock()
	if err := r.checkURL(issuer); err != nil {
		return nil, err
	}
	u, _ := url.Parse(issuer)
	// A terminating "/" is dropped before the well-known suffix (OpenID
	// Connect Discovery §4) or insertion (RFC 8414 §3.1).
	rfc8414 := u.Scheme + "://" + u.Host + "/.well-known/oauth-authorization-server" + strings.TrimSuffix(u.Path, "/")
	var doc *discoveryDocument
	var err error
	for _, where := range []string{strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration", rfc8414} {
		doc, err = r.fetchDocument(ctx, where)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("credentials: discovery for %s names issuer %q; refusing it", issuer, doc.Issuer)
	}
	if doc.TokenEndpoint == "" {
		return nil, fmt.Errorf("credentials: discovery for %s has no token_endpoint", issuer)
	}
	if err := r.checkURL(doc.TokenEndpoint); err != nil {
		return nil, err
	}
	md := &metadata{
		issuer:      doc.Issuer,
		tokenURL:    doc.TokenEndpoint,
		jwksURL:     doc.JWKSURI,
		authMethods: doc.AuthMethodsSupported,
		signingAlgs: doc.AuthSigningAlgs,
		dialect:     DialectRFC8693,
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = make(map[string]cachedMetadata)
	}
	r.cache[issuer] = cachedMetadata{md: md, fetched: time.Now()}
	r.mu.Unlock()
	return md, nil
}

func (r *resolver) fetchDocument(ctx context.Context, where string) (*discoveryDocument, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return nil, fmt.Errorf("credentials: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("credentials: discovery: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("credentials: discovery %s: %w", where, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("credentials: discovery %s: status %d", where, resp.StatusCode)
	}
	if len(body) > maxDiscoveryBytes {
		return nil, fmt.Errorf("credentials: discovery %s: document larger than 1 MiB", where)
	}
	var doc discoveryDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("credentials: discovery %s: %w", where, err)
	}
	return &doc, nil
}
