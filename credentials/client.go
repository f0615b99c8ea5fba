package credentials

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/agentpassport/passport/internal/oauth"
	"github.com/agentpassport/passport/internal/retry"
)

// Source gives tokens. One Source stands for one identity; each
// [Request] names the audience and scopes wanted.
//
// Implementations must be safe for concurrent use, and the *Token they
// return must not be modified (it is shared by every caller served from
// the cache).
type Source interface {
	Token(ctx context.Context, req Request) (*Token, error)
}

// Invalidator is implemented by sources that cache tokens. Invalidate
// drops the cached token of req, if it is tok (any token when tok is
// nil), so that the next call fetches a new one: for a token that a
// resource refused (401 invalid_token) or that a claims challenge
// replaces.
type Invalidator interface {
	Invalidate(req Request, tok *Token)
}

// Client is a confidential OAuth 2.0 client that gets app-only tokens
// with the client_credentials grant (RFC 6749 §4.4), authenticating with
// a [ClientCredential], and caches them. It also gets tokens on behalf of
// a user ([Client.OnBehalfOf]), and, as an Entra agent identity
// blueprint, the exchange tokens of its agents ([NewAgentIdentity]).
//
// A Client is safe for concurrent use. Its cache serves a valid token
// without locking or allocating, refreshes it in the background before
// it expires, and sends exactly one request however many callers miss at
// once. Call Close to stop its background work.
type Client struct {
	authority Authority
	clientID  string
	cred      ClientCredential
	cfg       *config
	res       *resolver
	life      *lifecycle
	// oboAudiences are the audiences a user assertion must have for an
	// Entra on-behalf-of request: the client itself, or for an agent
	// identity its blueprint.
	oboAudiences []string

	cache *partition // client_credentials tokens
	fmi   *partition // Entra agent-identity exchange tokens (T1), keyed by agent id
	obo   *partition // on-behalf-of tokens, keyed by the user assertion's SHA-256
}

var (
	_ Source      = (*Client)(nil)
	_ Invalidator = (*Client)(nil)
)

// NewClient returns a Client for the application clientID registered
// with authority. It makes no network call: discovery, if any, happens on
// the first token request.
func NewClient(authority Authority, clientID string, cred ClientCredential, opts ...Option) (*Client, error) {
	if authority == nil {
		return nil, errors.New("credentials: NewClient: nil authority")
	}
	if clientID == "" {
		return nil, errors.New("credentials: NewClient: empty client id")
	}
	if cred == nil {
		return nil, errors.New("credentials: NewClient: nil credential")
	}
	if err := cred.validate(); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return newClient(authority, clientID, cred, cfg, []string{clientID, "api://" + clientID}), nil
}

func newClient(authority Authority, clientID string, cred ClientCredential, cfg *config, oboAudiences []string) *Client {
	c := &Client{
		authority:    authority,
		clientID:     clientID,
		cred:         cred,
		cfg:          cfg,
		res:          &resolver{hc: cfg.hc, insecure: cfg.insecure},
		life:         newLifecycle(),
		oboAudiences: oboAudiences,
	}
	name := authority.id() + " client " + clientID
	c.cache = newPartition(name+" client_credentials", cfg, cfg.cacheSize, c.life, c.fetch).instrument("client_credentials", clientID)
	c.fmi = newPartition(name+" fmi", cfg, cfg.cacheSize, c.life, c.fetchFMI).instrument("agent_exchange", clientID)
	c.obo = newPartition(name+" obo", cfg, cfg.userCacheSize, c.life, c.fetchOBO).instrument("on_behalf_of", clientID)
	c.obo.check = c.checkAssertion
	return c
}

// ClientID returns the client's application id.
func (c *Client) ClientID() string { return c.clientID }

// Token returns an app-only token for req, from the cache when it holds
// a valid one. See [Source].
func (c *Client) Token(ctx context.Context, req Request) (*Token, error) {
	return c.cache.get(ctx, &req, &noSubject, "")
}

// Invalidate implements [Invalidator].
func (c *Client) Invalidate(req Request, tok *Token) {
	c.cache.invalidate(req, &noSubject, tok)
}

// Close stops background refreshes and waits for them to end. Token
// calls after Close return [ErrClosed], also on the sources made from
// this client (on-behalf-of, agent identities' exchange tokens). Close is
// idempotent and always returns nil.
func (c *Client) Close() error {
	c.life.close()
	return nil
}

// String describes the client without its credential.
func (c *Client) String() string {
	return fmt.Sprintf("credentials.Client{ClientID: %s, Authority: %s, Credential: %s}", c.clientID, c.authority.id(), c.cred)
}

// GoString is String, for %#v.
func (c *Client) GoString() string { return c.String() }

// Format prints String for every verb.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// dialect returns the protocol for delegated flows: the one forced by
// WithDialect, else the authority's.
func (c *Client) dialect() Dialect {
	if c.cfg.dialect != DialectAuto {
		return c.cfg.dialect
	}
	return c.authority.dialect()
}

// fetch gets a client_credentials token for k.
func (c *Client) fetch(ctx context.Context, k *cacheKey, _ *tokenState, _ string) (*tokenState, error) {
	md, err := c.authority.resolve(ctx, c.res, k.tenant)
	if err != nil {
		return nil, err
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	setScopeAndResource(form, md, k)
	return c.exchange(ctx, c.cache, md, k.tenant, form, k.scopes, c.cred, c.clientID)
}

// setScopeAndResource puts the key's scopes, resource and claims in a
// form. At Entra a resource without scopes becomes "{resource}/.default",
// since the v2 endpoint takes no resource parameter.
func setScopeAndResource(form url.Values, md *metadata, k *cacheKey) {
	scopes := k.scopes
	switch {
	case md.entra && len(scopes) == 0 && k.resource != "":
		scopes = []string{strings.TrimRight(k.resource, "/") + "/.default"}
	case k.resource != "" && !md.entra:
		form.Set("resource", k.resource)
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	if k.claims != "" {
		form.Set("claims", k.claims)
	}
}

// exchange authenticates form with cred, posts it to the token endpoint
// under the retry policy, and turns the answer into a tokenState of p.
// The credential is applied afresh on every attempt, so each gets a new
// client assertion (its jti must not repeat).
func (c *Client) exchange(ctx context.Context, p *partition, md *metadata, tenant string, form url.Values, requested []string, cred ClientCredential, clientID string) (*tokenState, error) {
	var resp *oauth.Response
	err := retry.Do(ctx, c.cfg.retry, func(ctx context.Context) error {
		attempt := url.Values{}
		for k, v := range form {
			attempt[k] = v
		}
		a := &authRequest{clientID: clientID, md: md, tenant: tenant, form: attempt, now: c.wallNow()}
		if err := cred.authenticate(ctx, a); err != nil {
			return err
		}
		header := http.Header{}
		if id, err := randomID(); err == nil {
			header.Set("client-request-id", id)
		}
		if a.basic[0] != "" {
			header.Set("Authorization", "Basic "+basicAuth(a.basic[0], a.basic[1]))
		}
		r, err := oauth.Post(ctx, c.cfg.hc, md.tokenURL, attempt, header)
		if err != nil {
			return &attemptError{err: classify(err)}
		}
		resp = r
		return nil
	}, func(err error, wait time.Duration) {
		c.cfg.logger.Debug("credentials: token request failed; retrying", "error", err.Error(), "wait", wait)
	})
	if err != nil {
		return nil, unwrapAttempt(err)
	}
	tok := &Token{accessToken: resp.AccessToken, tokenType: resp.TokenType, scopes: requested, issuedType: resp.IssuedTokenType}
	if resp.Scope != "" {
		tok.scopes = strings.Fields(resp.Scope)
	}
	now := p.now()
	lifetime := time.Duration(resp.ExpiresIn) * time.Second
	if lifetime <= 0 {
		lifetime = lifetimeFromClaims(resp.AccessToken, now)
	}
	return p.newState(now, tok, lifetime, time.Duration(resp.RefreshIn)*time.Second, resp.RefreshToken), nil
}

// defaultLifetime is assumed for a token whose response had no
// expires_in and that is not a JWT with an exp claim: short, so that a
// token of unknown life is not kept long.
const defaultLifetime = 5 * time.Minute

// lifetimeFromClaims reads the lifetime of an access token sent without
// expires_in from its exp claim, when it is a JWT; else defaultLifetime.
func lifetimeFromClaims(accessToken string, nowMicros int64) time.Duration {
	p, err := oauth.Peek(accessToken)
	if err != nil || p.Expiry == 0 {
		return defaultLifetime
	}
	d := time.Duration(p.Expiry*1e6-nowMicros) * time.Microsecond
	if d <= 0 {
		return time.Second // already expired: cache it for no useful time
	}
	return d
}

func (c *Client) wallNow() time.Time {
	if c.cfg.clock != nil {
		return c.cfg.clock()
	}
	return time.Now()
}

// classify turns an error of internal/oauth into this package's errors.
func classify(err error) error {
	var se *oauth.StatusError
	var te *oauth.TransportError
	var pe *oauth.ParseError
	switch {
	case errors.As(err, &se):
		return newTokenError(se)
	case errors.As(err, &te):
		return &transientError{err: te}
	case errors.As(err, &pe):
		return fmt.Errorf("credentials: %w", pe)
	}
	return err
}

// basicAuth encodes client_secret_basic credentials: each part is
// form-urlencoded before base64 (RFC 6749 §2.3.1).
func basicAuth(id, secret string) string {
	return base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
}
