package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/retry"
)

// Option configures a token source such as [NewClient]. Options are
// sealed: only this package makes them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	hc        *http.Client
	insecure  bool
	clock     func() time.Time
	skew      time.Duration
	retry     retry.Policy
	store     Store
	storeKey  []byte
	cacheSize int
	// userCacheSize bounds the per-user partitions (on-behalf-of, agent
	// users).
	userCacheSize int
	dialect       Dialect
	hook          func(context.Context, Request) error
	logger        *slog.Logger
	// tracerProvider makes the spans of token acquisitions; nil means
	// the global provider.
	tracerProvider trace.TracerProvider
}

// Defaults.
const (
	defaultSkew      = 5 * time.Minute
	defaultCacheSize = 1000
	// defaultUserCacheSize bounds the on-behalf-of and agent-user caches,
	// where one entry is kept per user.
	defaultUserCacheSize = 10_000
	defaultTimeout       = 30 * time.Second
)

func newConfig(opts []Option) (*config, error) {
	c := &config{
		skew:          defaultSkew,
		cacheSize:     defaultCacheSize,
		userCacheSize: defaultUserCacheSize,
		retry:         retry.Policy{MaxAttempts: 4, MaxElapsed: 30 * time.Second},
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if c.skew < 0 || c.skew > time.Hour {
		errs = append(errs, fmt.Errorf("credentials: WithExpirySkew(%v): want 0 to 1h", c.skew))
	}
	if c.cacheSize < 1 {
		errs = append(errs, fmt.Errorf("credentials: WithCacheSize(%d): want at least 1", c.cacheSize))
	}
	if c.userCacheSize < 1 {
		errs = append(errs, fmt.Errorf("credentials: WithUserCacheSize(%d): want at least 1", c.userCacheSize))
	}
	if c.dialect < DialectAuto || c.dialect > DialectRFC8693 {
		errs = append(errs, fmt.Errorf("credentials: WithDialect(%d): unknown dialect", int(c.dialect)))
	}
	if c.retry.MaxAttempts < 1 || c.retry.MaxElapsed < 0 {
		errs = append(errs, errors.New("credentials: WithRetry: want at least 1 attempt and a non-negative elapsed time"))
	}
	if c.store != nil && len(c.storeKey) != 32 {
		errs = append(errs, fmt.Errorf("credentials: WithStore: the encryption key has %d bytes, want 32", len(c.storeKey)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// WithHTTPClient sets the HTTP client for token and discovery requests.
// The default is a client with a 30-second timeout over
// http.DefaultTransport. A nil client is ignored.
func WithHTTPClient(hc *http.Client) Option {
	return optionFunc(func(c *config) {
		if hc != nil {
			c.hc = hc
		}
	})
}

// WithInsecureHTTP allows sending credentials to plain-http endpoints on
// hosts other than loopback. Never use it in production: anyone on the
// path reads the secret. By default only https and loopback http are
// allowed.
//
// The value configures sources ([Option]) and transports
// ([TransportOption]) alike.
func WithInsecureHTTP() interface {
	Option
	TransportOption
} {
	return insecureOption{}
}

// WithClock sets the clock the cache reads, for tests. The default reads
// the wall clock. Only the wall-clock reading of now is used.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.clock = now })
}

// WithExpirySkew sets how long before its expiry a token stops being
// served. The default is 5 minutes; for a token whose lifetime is less
// than twice the skew, half the lifetime is used instead. Valid values
// run from 0 to 1 hour.
func WithExpirySkew(d time.Duration) Option {
	return optionFunc(func(c *config) { c.skew = d })
}

// WithRetry bounds the retries of one token fetch: at most maxAttempts
// requests (the first included) within maxElapsed. The default is 4
// attempts within 30 seconds. Only network failures, 408, 429 and 5xx
// answers are retried, never invalid_client, invalid_grant,
// unauthorized_client, invalid_scope or a policy refusal.
func WithRetry(maxAttempts int, maxElapsed time.Duration) Option {
	return optionFunc(func(c *config) {
		c.retry = retry.Policy{MaxAttempts: maxAttempts, MaxElapsed: maxElapsed}
	})
}

// WithCacheSize bounds the number of cache entries of the source (one
// per distinct request). When full, expired entries are swept and then
// the least recently used are evicted. The default is 1000.
func WithCacheSize(n int) Option {
	return optionFunc(func(c *config) { c.cacheSize = n })
}

// WithUserCacheSize bounds the caches that hold one entry per user: the
// tokens obtained on behalf of users and the tokens of agent users. When
// full, expired entries are swept and then the least recently used are
// evicted. The default is 10 000.
func WithUserCacheSize(n int) Option {
	return optionFunc(func(c *config) { c.userCacheSize = n })
}

// WithDialect forces the protocol of delegated flows. The default,
// DialectAuto, follows the authority: Entra's jwt-bearer and user_fic at
// Entra, RFC 8693 token exchange elsewhere.
func WithDialect(d Dialect) Option {
	return optionFunc(func(c *config) { c.dialect = d })
}

// WithStore adds a shared second-level cache, such as Redis, so that
// replicas reuse each other's tokens. Tokens are sealed with AES-256-GCM
// under key (32 bytes) before they reach the store, and the store sees
// only hashed names. The default is no store: the in-memory cache alone.
func WithStore(s Store, key []byte) Option {
	return optionFunc(func(c *config) {
		c.store = s
		c.storeKey = append([]byte(nil), key...)
	})
}

// WithPreAcquire sets a hook called before any token is requested from
// the authority (never on a cache hit), with the caller's context and
// request. When it returns an error, no request is sent and the caller
// gets an error matching both [ErrPolicyDenied] and the hook's error.
// The policy package provides such a hook.
func WithPreAcquire(hook func(ctx context.Context, req Request) error) Option {
	return optionFunc(func(c *config) { c.hook = hook })
}

// WithTracerProvider sets the OpenTelemetry tracer provider for the
// spans of token acquisitions (one span per request to the authority,
// never on a cache hit; a child of the caller's span). A nil provider is
// ignored. The default is the global provider, otel.GetTracerProvider();
// this package never installs one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tracerProvider = tp
		}
	})
}

// WithLogger sets the logger for events such as failed background
// refreshes. The default discards everything. Nothing secret is logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}
