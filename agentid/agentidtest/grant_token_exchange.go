package agentidtest

import (
	"net/url"
	"slices"
)

// grantTokenExchange is the grant_type of RFC 8693 §2.1.
const grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// Token type identifiers of RFC 8693 §3.
const (
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	tokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
)

// acceptedInputTypes are the subject_token_type and actor_token_type
// values accepted; the tokens themselves must be JWTs of this server.
var acceptedInputTypes = []string{tokenTypeAccessToken, tokenTypeJWT, tokenTypeIDToken}

// tokenExchange answers an RFC 8693 token exchange request. The client
// authenticates by any method: a registered client, or an agent identity
// with its blueprint's exchange token (T1). Refused as RFC 8693 §2.2.2
// says:
//
//   - invalid_request (AADSTS900144 for a missing parameter, else
//     AADSTS90023): no subject_token or subject_token_type; an actor_token
//     without actor_token_type or the reverse; a token type other than
//     access_token, jwt or id_token; a requested_token_type other than
//     access_token or jwt ("unsupported requested_token_type");
//   - invalid_target (AADSTS9010010): an empty audience, or a resource
//     that is not an absolute URI without a fragment;
//   - invalid_grant: a subject or actor token that is not a token of this
//     server for the request's tenant (AADSTS50013), that is expired or
//     not yet valid (AADSTS500133), or a subject token without sub;
//     an actor that the subject token's may_act does not permit
//     (AADSTS50013, "actor not permitted by may_act"): the actor, the
//     actor token's sub or else the client id, must be may_act.sub, and
//     the client must be may_act.client_id when that is set;
//   - a subject or actor token issued to a blocked or denied agent.
//
// The issued token (see exchangeClaims) has aud the first audience, else
// the first resource, else the client id; act names the actor, with the
// subject token's act nested in it. The answer adds issued_token_type,
// the requested type, and token_type "Bearer" for an access token or
// "N_A" for a jwt (RFC 8693 §2.2.1).
func (a *Authority) tokenExchange(req *grantRequest) (*tokenResponse, *tokenError) {
	c, _, te := a.authenticate(req)
	if te != nil {
		return nil, te
	}
	f := req.form
	if te := checkExchangeTypes(f); te != nil {
		return nil, te
	}
	requested := f.Get("requested_token_type")
	if requested == "" {
		requested = tokenTypeAccessToken
	}
	aud, te := exchangeAudience(f, c.id)
	if te != nil {
		return nil, te
	}

	subject, p := a.verifyOwn(f.Get("subject_token"), req.tenant, req.now)
	if p != nil {
		return nil, p.grantError("subject_token")
	}
	if subject.Subject == "" {
		return nil, invalidGrant(codeInvalidAssertion, "The subject_token has no 'sub' claim.")
	}
	if te := a.gateToken(subject); te != nil {
		return nil, te
	}
	actor := c.id
	if raw := f.Get("actor_token"); raw != "" {
		act, p := a.verifyOwn(raw, req.tenant, req.now)
		if p != nil {
			return nil, p.grantError("actor_token")
		}
		if te := a.gateToken(act); te != nil {
			return nil, te
		}
		actor = act.Subject
	}
	if m := subject.MayAct; m != nil && (m.Subject != actor || m.ClientID != "" && m.ClientID != c.id) {
		return nil, invalidGrant(codeInvalidAssertion,
			"actor not permitted by may_act: the subject_token's may_act does not name actor '%s' of client '%s'.", actor, c.id)
	}

	resp, te := a.issue(a.exchangeClaims(req, c, subject, actor, aud, f.Get("scope")))
	if te != nil {
		return nil, te
	}
	resp.IssuedTokenType = requested
	if requested == tokenTypeJWT {
		resp.TokenType = "N_A"
	}
	resp.Scope = f.Get("scope")
	return resp, nil
}

// checkExchangeTypes checks the presence and the types of the subject and
// actor tokens and the requested token type.
func checkExchangeTypes(f url.Values) *tokenError {
	for _, name := range []string{"subject_token", "subject_token_type"} {
		if f.Get(name) == "" {
			return invalidRequest(codeMissingParameter, "The request body must contain the following parameter: '%s'.", name)
		}
	}
	if t := f.Get("subject_token_type"); !slices.Contains(acceptedInputTypes, t) {
		return invalidRequest(codeInvalidRequest, "unsupported subject_token_type '%s'.", t)
	}
	actor, actorType := f.Get("actor_token"), f.Get("actor_token_type")
	switch {
	case actor != "" && actorType == "":
		return invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'actor_token_type', as it has an 'actor_token'.")
	case actor == "" && actorType != "":
		return invalidRequest(codeInvalidRequest, "The 'actor_token_type' parameter must not be given without 'actor_token'.")
	case actor != "" && !slices.Contains(acceptedInputTypes, actorType):
		return invalidRequest(codeInvalidRequest, "unsupported actor_token_type '%s'.", actorType)
	}
	if t := f.Get("requested_token_type"); t != "" && t != tokenTypeAccessToken && t != tokenTypeJWT {
		return invalidRequest(codeInvalidRequest, "unsupported requested_token_type '%s'.", t)
	}
	return nil
}

// exchangeAudience returns the aud of an exchanged token: the first
// audience, else the first resource, else clientID. Every resource must
// be an absolute URI without a fragment (RFC 8693 §2.1, RFC 8707 §2).
func exchangeAudience(f url.Values, clientID string) (string, *tokenError) {
	for _, r := range f["resource"] {
		if u, err := url.Parse(r); err != nil || !u.IsAbs() || u.Fragment != "" {
			return "", invalidTarget("The resource '%s' is not an absolute URI without a fragment.", r)
		}
	}
	if slices.Contains(f["audience"], "") {
		return "", invalidTarget("The audience parameter must not be empty.")
	}
	switch {
	case len(f["audience"]) > 0:
		return f["audience"][0], nil
	case len(f["resource"]) > 0:
		return f["resource"][0], nil
	}
	return clientID, nil
}
