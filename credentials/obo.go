package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/agentpassport/passport/internal/oauth"
)

// RFC 8693 §3 token type identifiers.
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeSAML1        = "urn:ietf:params:oauth:token-type:saml1"
	TokenTypeSAML2        = "urn:ietf:params:oauth:token-type:saml2"
)

// Grant types of the delegated flows.
const (
	grantJWTBearer     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)

// ErrInvalidAssertion matches a user assertion refused before any network
// call: not a JWT, already expired, or (at Entra) issued for another
// audience than the agent's blueprint. See [AssertionError].
var ErrInvalidAssertion = errors.New("credentials: unusable user assertion")

// AssertionError says why a user assertion was refused locally. It
// never holds the assertion.
type AssertionError struct {
	// Reason is a short description, e.g. "expired" or
	// "audience is api://other, want the blueprint 1234…".
	Reason string
}

func (e *AssertionError) Error() string { return "credentials: user assertion refused: " + e.Reason }

// Is makes errors.Is(err, ErrInvalidAssertion) true.
func (e *AssertionError) Is(target error) bool { return target == ErrInvalidAssertion }

// OnBehalfOf is a [Source] of tokens for one user, obtained with the
// user's access token (the assertion) by the agent's client. Build it
// with [Client.OnBehalfOf] or [AgentIdentity.OnBehalfOf], typically once
// per incoming request or user session: it is cheap, and every
// OnBehalfOf of one agent shares one cache, keyed by the SHA-256 of the
// assertion (never the assertion itself) and bounded by
// [WithUserCacheSize].
//
// At an Entra authority the request is Entra's on-behalf-of
// (grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
// requested_token_use=on_behalf_of). Before any request the assertion is
// checked locally: it must be a JWT, not expired, and issued to the
// blueprint (its aud); a refusal is an [*AssertionError]. Elsewhere the
// request is an RFC 8693 token exchange: subject_token is the assertion,
// actor_token the agent's own token for the same request, and the result
// carries an act claim naming the agent.
//
// An OnBehalfOf holds the user's token: it never prints it.
type OnBehalfOf struct {
	c         *Client
	assertion string
	subj      subject // the SHA-256 of the assertion
}

var (
	_ Source      = (*OnBehalfOf)(nil)
	_ Invalidator = (*OnBehalfOf)(nil)
)

// OnBehalfOf returns a [Source] of tokens for the user whose access token
// for this client is userToken. See [OnBehalfOf].
func (c *Client) OnBehalfOf(userToken string) *OnBehalfOf {
	return &OnBehalfOf{c: c, assertion: userToken, subj: subjectOf(userToken)}
}

// Token returns a token for the user, for req. See [Source].
func (o *OnBehalfOf) Token(ctx context.Context, req Request) (*Token, error) {
	return o.c.obo.get(ctx, &req, &o.subj, o.assertion)
}

// Invalidate implements [Invalidator].
func (o *OnBehalfOf) Invalidate(req Request, tok *Token) {
	o.c.obo.invalidate(req, &o.subj, tok)
}

// String describes the source without the user's token.
func (o *OnBehalfOf) String() string {
	return fmt.Sprintf("credentials.OnBehalfOf{ClientID: %s, Assertion: %s}", o.c.clientID, redacted)
}

// Format prints String for every verb.
func (o *OnBehalfOf) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(o.String())) }

// checkAssertion vets a user assertion before any network call.
func (c *Client) checkAssertion(assertion string) error {
	dialect := c.dialect()
	p, err := oauth.Peek(assertion)
	if err != nil {
		if dialect == DialectEntra {
			return &AssertionError{Reason: "not a JWT"}
		}
		return nil // an opaque subject token: the authority decides
	}
	if p.Expiry != 0 && c.cache.now() >= p.Expiry*1e6 {
		return &AssertionError{Reason: "expired"}
	}
	if dialect == DialectEntra && !slices.ContainsFunc(p.Audience, func(a string) bool { return slices.Contains(c.oboAudiences, a) }) {
		return &AssertionError{Reason: fmt.Sprintf("audience %q is not the blueprint %s", p.Audience, c.oboAudiences[0])}
	}
	return nil
}

// fetchOBO gets a token on behalf of the user whose assertion is given.
func (c *Client) fetchOBO(ctx context.Context, k *cacheKey, _ *tokenState, assertion string) (*tokenState, error) {
	md, err := c.authority.resolve(ctx, c.res, k.tenant)
	if err != nil {
		return nil, err
	}
	var form url.Values
	if c.dialect() == DialectEntra {
		form = url.Values{
			"grant_type":          {grantJWTBearer},
			"assertion":           {assertion},
			"requested_token_use": {"on_behalf_of"},
		}
	} else {
		actorReq := Request{Scopes: k.scopes, Resource: k.resource, TenantID: k.tenant}
		actor, err := c.cache.get(ctx, &actorReq, &noSubject, "")
		if err != nil {
			return nil, fmt.Errorf("credentials: getting the agent's own token as actor: %w", err)
		}
		form = url.Values{
			"grant_type":           {grantTokenExchange},
			"subject_token":        {assertion},
			"subject_token_type":   {TokenTypeAccessToken},
			"actor_token":          {actor.AccessToken()},
			"actor_token_type":     {TokenTypeJWT},
			"requested_token_type": {TokenTypeAccessToken},
		}
	}
	setScopeAndResource(form, md, k)
	return c.exchange(ctx, c.obo, md, k.tenant, form, k.scopes, c.cred, c.clientID)
}
