package agentid

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// VerifierOption configures [NewVerifier]. Options are sealed: only this
// package makes them.
type VerifierOption interface{ applyVerifier(*verifierConfig) }

type verifierOptionFunc func(*verifierConfig)

func (f verifierOptionFunc) applyVerifier(c *verifierConfig) { f(c) }

// verifierConfig is the configuration of a Verifier, fixed by NewVerifier.
type verifierConfig struct {
	audiences    []string
	noAudience   bool
	algs         []string
	leeway       time.Duration
	required     []string
	maxSize      int
	cacheSize    int
	keyRefresh   time.Duration
	jwksURL      string
	hc           *http.Client
	ownHC        bool // hc was made here, so Close closes its connections
	insecureHTTP bool
	clock        func() time.Time // nil: the wall clock of internal/clock
	clockSet     bool             // WithClock was given
}

// Defaults and bounds.
const (
	defaultLeeway     = time.Minute
	maxLeeway         = 5 * time.Minute
	defaultMaxSize    = 16 << 10
	minMaxSize        = 512
	maxMaxSize        = 1 << 20
	defaultKeyRefresh = time.Minute
	minKeyRefresh     = time.Second
	defaultTimeout    = 30 * time.Second
	maxCacheSize      = 1 << 24
)

// defaultAlgorithms are the algorithms accepted without [WithAlgorithms].
var defaultAlgorithms = []string{"RS256", "PS256", "ES256"}

// supportedAlgorithms are the asymmetric JWS algorithms (RFC 7518 §3.1,
// RFC 8037 §3.1) a Verifier can accept. "none" and the HMAC algorithms
// are deliberately absent.
var supportedAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// newVerifierConfig applies the defaults, then opts, then validates.
func newVerifierConfig(opts []VerifierOption) (*verifierConfig, error) {
	c := &verifierConfig{
		algs:       slices.Clone(defaultAlgorithms),
		leeway:     defaultLeeway,
		maxSize:    defaultMaxSize,
		keyRefresh: defaultKeyRefresh,
	}
	for _, o := range opts {
		if o != nil {
			o.applyVerifier(c)
		}
	}
	var errs []error
	switch {
	case len(c.audiences) == 0 && !c.noAudience:
		errs = append(errs, errors.New("agentid: no audience: use WithAudience (or, knowing the risk, WithoutAudienceCheck)"))
	case len(c.audiences) > 0 && c.noAudience:
		errs = append(errs, errors.New("agentid: WithAudience and WithoutAudienceCheck conflict"))
	}
	if slices.Contains(c.audiences, "") {
		errs = append(errs, errors.New("agentid: WithAudience: empty audience"))
	}
	if len(c.algs) == 0 {
		errs = append(errs, errors.New("agentid: WithAlgorithms: no algorithm"))
	}
	for _, a := range c.algs {
		if !slices.Contains(supportedAlgorithms, a) {
			errs = append(errs, fmt.Errorf("agentid: WithAlgorithms: %q is not an accepted algorithm; want any of %v", a, supportedAlgorithms))
		}
	}
	if c.leeway < 0 || c.leeway > maxLeeway {
		errs = append(errs, fmt.Errorf("agentid: WithLeeway(%v): want 0 to %v", c.leeway, maxLeeway))
	}
	for _, name := range c.required {
		if name == "" {
			errs = append(errs, errors.New("agentid: WithRequiredClaims: empty claim name"))
		}
	}
	if c.maxSize < minMaxSize || c.maxSize > maxMaxSize {
		errs = append(errs, fmt.Errorf("agentid: WithMaxTokenSize(%d): want %d to %d bytes", c.maxSize, minMaxSize, maxMaxSize))
	}
	if c.cacheSize < 0 || c.cacheSize > maxCacheSize {
		errs = append(errs, fmt.Errorf("agentid: WithTokenCache(%d): want 0 (off) to %d entries", c.cacheSize, maxCacheSize))
	}
	if c.keyRefresh < minKeyRefresh {
		errs = append(errs, fmt.Errorf("agentid: WithKeyRefreshInterval(%v): want at least %v", c.keyRefresh, minKeyRefresh))
	}
	if c.clockSet && c.clock == nil {
		errs = append(errs, errors.New("agentid: WithClock(nil)"))
	}
	if c.jwksURL != "" {
		if err := checkURL(c.jwksURL, c.insecureHTTP); err != nil {
			errs = append(errs, fmt.Errorf("agentid: WithJWKSURL: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if c.hc == nil {
		c.hc = newHTTPClient(c.insecureHTTP)
		c.ownHC = true
	}
	return c, nil
}

// WithAudience sets the audiences the Verifier accepts: a token passes
// when any value of its aud claim is one of them (RFC 7519 §4.1.3). For a
// Microsoft Entra ID v2 token, that is the API's application (client) id
// or application ID URI, such as "api://orders". An audience is required:
// without this option [NewVerifier] fails, unless [WithoutAudienceCheck].
// Calls add up.
func WithAudience(aud ...string) VerifierOption {
	aud = slices.Clone(aud)
	return verifierOptionFunc(func(c *verifierConfig) { c.audiences = append(c.audiences, aud...) })
}

// WithoutAudienceCheck turns the audience check off. This is dangerous:
// the Verifier then accepts any token of the issuer, including one meant
// for another API, so any service that receives tokens of this issuer
// can replay them here. Use it only when the audience is checked
// elsewhere. It conflicts with [WithAudience].
func WithoutAudienceCheck() VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.noAudience = true })
}

// WithAlgorithms sets the signing algorithms the Verifier accepts. The
// default is RS256, PS256 and ES256. Any of RS256, RS384, RS512, PS256,
// PS384, PS512, ES256, ES384, ES512 and EdDSA may be given; "none" and
// the HMAC algorithms (HS256…) never are, and [NewVerifier] fails on
// them. Whatever the allowlist, a token's alg must also be the algorithm
// of the key that its kid names.
func WithAlgorithms(algs ...string) VerifierOption {
	algs = slices.Clone(algs)
	return verifierOptionFunc(func(c *verifierConfig) { c.algs = algs })
}

// WithLeeway sets the clock skew tolerated in exp, nbf and iat. The
// default is one minute; it must be between 0 and 5 minutes.
func WithLeeway(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.leeway = d })
}

// WithRequiredClaims adds claims a token must carry, non-empty and not
// null, such as "sub", "jti" or "tid". exp and iss are always required,
// and aud unless [WithoutAudienceCheck]. Calls add up.
func WithRequiredClaims(names ...string) VerifierOption {
	names = slices.Clone(names)
	return verifierOptionFunc(func(c *verifierConfig) { c.required = append(c.required, names...) })
}

// WithMaxTokenSize sets the length in bytes beyond which a token is
// rejected before any decoding. The default is 16 KiB; it must be between
// 512 bytes and 1 MiB.
func WithMaxTokenSize(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.maxSize = n })
}

// WithTokenCache keeps up to n verified tokens in memory, each until its
// exp, so that verifying the same token again costs a hash and a
// comparison instead of a signature check. A Principal served from the
// cache is the one returned the first time: it is shared, and must be
// treated as read-only. The cache is emptied when a key leaves the
// issuer's JWKS. The default is 0: no cache.
func WithTokenCache(n int) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.cacheSize = n })
}

// WithKeyRefreshInterval sets the minimum time between two refreshes of
// the JWKS caused by a token whose kid is unknown. Between them, tokens
// with unknown kids are rejected at once, so a flood of random kids
// cannot make the Verifier hammer the JWKS endpoint. The default is one
// minute; it must be at least one second. The JWKS is also refreshed in
// the background, as its Cache-Control allows, between every 5 minutes
// and every hour.
func WithKeyRefreshInterval(d time.Duration) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.keyRefresh = d })
}

// WithJWKSURL sets the URL of the issuer's JWKS (RFC 7517 §5), which is
// then used as is: no discovery document is fetched. By default the JWKS
// URL is the jwks_uri of the issuer's OpenID Connect discovery document.
func WithJWKSURL(url string) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.jwksURL = url })
}

// WithHTTPClient sets the HTTP client for the discovery document and the
// JWKS. The default is a client with a 30-second timeout that follows at
// most 5 redirects, none to plain http (but for loopback hosts). A nil
// client is ignored.
func WithHTTPClient(hc *http.Client) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		if hc != nil {
			c.hc = hc
		}
	})
}

// WithInsecureHTTP allows the issuer, its discovery document and its JWKS
// to be served over plain http from hosts other than loopback. Never use
// it in production: anyone on the path can substitute their own keys and
// forge any token. By default only https, and http to loopback hosts, are
// allowed.
func WithInsecureHTTP() VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) { c.insecureHTTP = true })
}

// WithClock sets the clock against which exp, nbf and iat are checked, and
// which paces key refreshes, for tests. The default reads the wall clock
// (which, unlike Go's monotonic clock, keeps counting while the machine
// is suspended). The function must be safe for concurrent use.
func WithClock(now func() time.Time) VerifierOption {
	return verifierOptionFunc(func(c *verifierConfig) {
		c.clock = now
		c.clockSet = true
	})
}

// MiddlewareOption configures [Middleware]. Options are sealed: only this
// package makes them.
type MiddlewareOption interface{ applyMiddleware(*middlewareConfig) }

type middlewareOptionFunc func(*middlewareConfig)

func (f middlewareOptionFunc) applyMiddleware(c *middlewareConfig) { f(c) }

// middlewareConfig is the configuration of a Middleware.
type middlewareConfig struct {
	metadataURL string
	tp          trace.TracerProvider // nil: the global provider
}

func newMiddlewareConfig(opts []MiddlewareOption) *middlewareConfig {
	c := &middlewareConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyMiddleware(c)
		}
	}
	return c
}

// WithResourceMetadataURL sets the URL of the resource's protected
// resource metadata (RFC 9728 §5.1), sent in the resource_metadata
// parameter of every challenge so that clients (such as MCP clients) can
// find the authorization server. Serve the document with
// [ProtectedResourceMetadata] at [WellKnownPath]. The default is none:
// challenges carry no resource_metadata.
func WithResourceMetadataURL(url string) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) { c.metadataURL = url })
}
