package credentials

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/agentpassport/passport/internal/oauth"
)

// TokenRef names a token taking part in a token exchange: a fixed string,
// or the token a [Source] gives for a [Request], with its RFC 8693 type.
type TokenRef struct {
	// Static is a fixed token; when set, Source is ignored.
	Static string
	// Source and Request give the token otherwise.
	Source  Source
	Request Request
	// Type is the token's RFC 8693 type URI (TokenTypeAccessToken,
	// TokenTypeJWT, TokenTypeIDToken, …). Default TokenTypeAccessToken.
	Type string
}

// StaticToken refers to a fixed token of the given type ("" for an
// access token).
func StaticToken(token, tokenType string) TokenRef { return TokenRef{Static: token, Type: tokenType} }

// SourceToken refers to the token src gives for req, of the given type
// ("" for an access token).
func SourceToken(src Source, req Request, tokenType string) TokenRef {
	return TokenRef{Source: src, Request: req, Type: tokenType}
}

func (r TokenRef) tokenType() string {
	if r.Type == "" {
		return TokenTypeAccessToken
	}
	return r.Type
}

func (r TokenRef) resolve(ctx context.Context) (string, error) {
	if r.Static != "" {
		return r.Static, nil
	}
	if r.Source == nil {
		return "", fmt.Errorf("%w: a token reference has neither a static token nor a source", ErrInvalidRequest)
	}
	tok, err := r.Source.Token(ctx, r.Request)
	if err != nil {
		return "", err
	}
	return tok.AccessToken(), nil
}

// ErrActorNotPermitted matches a token exchange refused before any
// request because the subject token's may_act claim names another actor
// (RFC 8693 §4.4).
var ErrActorNotPermitted = errors.New("credentials: the actor is not permitted by the subject token's may_act")

// ExchangeOption configures [NewTokenExchange].
type ExchangeOption interface{ applyExchange(*TokenExchange) }

type exchangeOptionFunc func(*TokenExchange)

func (f exchangeOptionFunc) applyExchange(x *TokenExchange) { f(x) }

// WithActor sets the actor token of the exchange (delegation, RFC 8693
// §1.1). Without it there is no actor_token (impersonation, unless the
// server names the client as actor).
func WithActor(actor TokenRef) ExchangeOption {
	return exchangeOptionFunc(func(x *TokenExchange) { x.actor = &actor })
}

// WithRequestedTokenType sets requested_token_type. The default is
// TokenTypeAccessToken.
func WithRequestedTokenType(uri string) ExchangeOption {
	return exchangeOptionFunc(func(x *TokenExchange) { x.requested = uri })
}

// WithAudience adds audience parameters: logical names of the target
// service (RFC 8693 §2.1). The Request's Resource and Scopes are sent as
// resource and scope.
func WithAudience(aud ...string) ExchangeOption {
	return exchangeOptionFunc(func(x *TokenExchange) { x.audiences = append(x.audiences, aud...) })
}

// TokenExchange is a [Source] of tokens obtained by OAuth 2.0 Token
// Exchange (RFC 8693) at the client's authority: the subject token (and
// actor token, if any) are exchanged for a token for the request's
// resource and scopes. The client authenticates as usual.
//
// A static subject token is part of the cache key (by its SHA-256); a
// subject from a Source is fetched again on every miss, and the
// exchange's tokens are cached per request. A subject token whose
// may_act names someone other than the actor is refused locally with
// [ErrActorNotPermitted]; the server's own refusals are [*TokenError]s
// and never retried.
type TokenExchange struct {
	c         *Client
	subject   TokenRef
	actor     *TokenRef
	requested string
	audiences []string
	p         *partition
	subj      subject // of a static subject token; none for a source
}

var _ Source = (*TokenExchange)(nil)

// NewTokenExchange returns a token-exchange Source of client for subject.
func NewTokenExchange(client *Client, subject TokenRef, opts ...ExchangeOption) (*TokenExchange, error) {
	if client == nil {
		return nil, errors.New("credentials: NewTokenExchange: nil client")
	}
	if subject.Static == "" && subject.Source == nil {
		return nil, errors.New("credentials: NewTokenExchange: the subject token has neither a static value nor a source")
	}
	x := &TokenExchange{c: client, subject: subject, requested: TokenTypeAccessToken}
	for _, o := range opts {
		o.applyExchange(x)
	}
	if x.actor != nil && x.actor.Static == "" && x.actor.Source == nil {
		return nil, errors.New("credentials: NewTokenExchange: the actor token has neither a static value nor a source")
	}
	if subject.Static != "" {
		x.subj = subjectOf(subject.Static)
	}
	name := client.authority.id() + " client " + client.clientID + " token_exchange"
	x.p = newPartition(name, client.cfg, client.cfg.userCacheSize, client.life, x.fetch).instrument("token_exchange", client.clientID)
	return x, nil
}

// Token returns the exchanged token for req. See [Source].
func (x *TokenExchange) Token(ctx context.Context, req Request) (*Token, error) {
	return x.p.get(ctx, &req, &x.subj, "")
}

// Invalidate implements [Invalidator].
func (x *TokenExchange) Invalidate(req Request, tok *Token) {
	x.p.invalidate(req, &x.subj, tok)
}

// String describes the exchange without any token.
func (x *TokenExchange) String() string {
	return fmt.Sprintf("credentials.TokenExchange{ClientID: %s, SubjectType: %s}", x.c.clientID, x.subject.tokenType())
}

// Format prints String for every verb.
func (x *TokenExchange) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(x.String())) }

func (x *TokenExchange) fetch(ctx context.Context, k *cacheKey, _ *tokenState, _ string) (*tokenState, error) {
	subject, err := x.subject.resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("credentials: getting the subject token: %w", err)
	}
	form := url.Values{
		"grant_type":           {grantTokenExchange},
		"subject_token":        {subject},
		"subject_token_type":   {x.subject.tokenType()},
		"requested_token_type": {x.requested},
	}
	actorSub := x.c.clientID
	if x.actor != nil {
		actor, err := x.actor.resolve(ctx)
		if err != nil {
			return nil, fmt.Errorf("credentials: getting the actor token: %w", err)
		}
		form.Set("actor_token", actor)
		form.Set("actor_token_type", x.actor.tokenType())
		if p, err := oauth.Peek(actor); err == nil && p.Subject != "" {
			actorSub = p.Subject
		}
	}
	if err := checkMayAct(subject, actorSub, x.c.clientID); err != nil {
		return nil, err
	}
	for _, aud := range x.audiences {
		form.Add("audience", aud)
	}
	md, err := x.c.authority.resolve(ctx, x.c.res, k.tenant)
	if err != nil {
		return nil, err
	}
	if k.resource != "" {
		form.Set("resource", k.resource)
	}
	if len(k.scopes) > 0 {
		form.Set("scope", strings.Join(k.scopes, " "))
	}
	return x.c.exchange(ctx, x.p, md, k.tenant, form, k.scopes, x.c.cred, x.c.clientID)
}

// checkMayAct refuses an exchange whose subject token restricts who may
// act for it (may_act, RFC 8693 §4.4) to someone other than the actor.
func checkMayAct(subject, actorSub, clientID string) error {
	p, err := oauth.Peek(subject)
	if err != nil || p.MayAct == nil {
		return nil // not a JWT, or no restriction: the server decides
	}
	may := p.MayAct
	if may.Subject != "" && may.Subject != actorSub {
		return fmt.Errorf("%w (may_act names %q, the actor is %q)", ErrActorNotPermitted, may.Subject, actorSub)
	}
	if may.ClientID != "" && may.ClientID != clientID {
		return fmt.Errorf("%w (may_act names client %q, the client is %q)", ErrActorNotPermitted, may.ClientID, clientID)
	}
	return nil
}
