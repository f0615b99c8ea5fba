package agentidtest

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Token endpoint client authentication methods (RFC 8414 §2,
// token_endpoint_auth_methods_supported; RFC 7523 §2.2 for private_key_jwt).
const (
	methodSecretBasic   = "client_secret_basic"
	methodSecretPost    = "client_secret_post"
	methodPrivateKeyJWT = "private_key_jwt"
)

// Signing algorithms the Authority issues tokens with.
const (
	algRS256 = "RS256"
	algES256 = "ES256"
)

// Option configures an [Authority] at start. Options are applied in order,
// so a later option overrides an earlier one of the same kind. The set of
// options is sealed: only this package can implement Option.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the immutable configuration of an Authority, fixed at start.
type config struct {
	tenantID    string
	signingAlg  string
	lifetime    time.Duration
	refreshIn   time.Duration
	authMethods []string
	now         func() time.Time
}

// newConfig applies the defaults, then opts, then validates the result.
func newConfig(opts []Option) (config, error) {
	c := config{
		tenantID:    newGUID(),
		signingAlg:  algRS256,
		lifetime:    time.Hour,
		authMethods: []string{methodSecretPost, methodSecretBasic, methodPrivateKeyJWT},
		now:         time.Now,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	var errs []error
	if !validTenantID(c.tenantID) {
		errs = append(errs, fmt.Errorf("agentidtest: invalid tenant id %q: want 1 to 256 letters, digits, '.', '-' or '_'", c.tenantID))
	}
	if c.signingAlg != algRS256 && c.signingAlg != algES256 {
		errs = append(errs, fmt.Errorf("agentidtest: unsupported signing algorithm %q: want %q or %q", c.signingAlg, algRS256, algES256))
	}
	if c.lifetime < time.Second {
		errs = append(errs, fmt.Errorf("agentidtest: token lifetime %v is shorter than one second", c.lifetime))
	}
	if c.refreshIn < 0 {
		errs = append(errs, fmt.Errorf("agentidtest: negative refresh_in %v", c.refreshIn))
	}
	if len(c.authMethods) == 0 {
		errs = append(errs, errors.New("agentidtest: WithAuthMethods needs at least one method"))
	}
	for _, m := range c.authMethods {
		switch m {
		case methodSecretBasic, methodSecretPost, methodPrivateKeyJWT:
		default:
			errs = append(errs, fmt.Errorf("agentidtest: unsupported client authentication method %q", m))
		}
	}
	if c.now == nil {
		errs = append(errs, errors.New("agentidtest: WithClock(nil)"))
	}
	return c, errors.Join(errs...)
}

// allows reports whether the client authentication method is enabled.
func (c *config) allows(method string) bool {
	return slices.Contains(c.authMethods, method)
}

// WithTenantID sets the default tenant, the one [Authority.TenantID],
// [Authority.TokenURL] and [Authority.JWKSURL] name. The default is a
// random GUID. The id must be 1 to 256 letters, digits, '.', '-' or '_'
// (a GUID or a domain name such as contoso.onmicrosoft.com).
func WithTenantID(id string) Option {
	return optionFunc(func(c *config) { c.tenantID = id })
}

// WithSigningAlgorithm sets which of the current keys signs issued tokens:
// "RS256" (the default, as Entra ID) or "ES256". Both keys are always
// published in the JWKS.
func WithSigningAlgorithm(alg string) Option {
	return optionFunc(func(c *config) { c.signingAlg = alg })
}

// WithTokenLifetime sets the lifetime of issued access tokens, which is
// also the expires_in of token responses. The default is one hour; it must
// be at least one second.
func WithTokenLifetime(d time.Duration) Option {
	return optionFunc(func(c *config) { c.lifetime = d })
}

// WithRefreshIn makes token responses carry "refresh_in" (whole seconds),
// the Entra hint for when a client should refresh proactively. The default
// is 0, which leaves refresh_in out of responses.
func WithRefreshIn(d time.Duration) Option {
	return optionFunc(func(c *config) { c.refreshIn = d })
}

// WithAuthMethods sets the client authentication methods the token endpoint
// accepts and advertises in token_endpoint_auth_methods_supported
// (RFC 8414 §2): any of "client_secret_post", "client_secret_basic" and
// "private_key_jwt". The default is all three. A request that
// authenticates with another method fails with invalid_client.
func WithAuthMethods(methods ...string) Option {
	methods = slices.Clone(methods)
	return optionFunc(func(c *config) { c.authMethods = methods })
}

// WithClock sets the clock the Authority reads for the iat, nbf and exp of
// issued tokens, for error timestamps and for checking the times of client
// assertions. The default is [time.Now]. The function must be safe for
// concurrent use. Latency set by [Authority.SetLatency] always uses real
// time.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// validTenantID reports whether id can be a tenant path segment.
func validTenantID(id string) bool {
	if id == "" || len(id) > 256 || id == "." || id == ".." {
		return false
	}
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}
