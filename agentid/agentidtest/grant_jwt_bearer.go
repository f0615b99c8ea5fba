package agentidtest

import (
	"slices"
	"strings"
)

// grantJWTBearer is the grant_type of the Entra on-behalf-of flow, the
// JWT bearer grant of RFC 7523 §2.1 with requested_token_use.
const grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// onBehalfOfUse is the one value of requested_token_use accepted.
const onBehalfOfUse = "on_behalf_of"

// onBehalfOf answers an Entra on-behalf-of request: a client, usually an
// agent identity authenticated by its blueprint's exchange token (T1),
// presents a user's access token as assertion and gets a delegated token
// for the resource of its scopes (see parseDelegatedScopes). Refused:
//
//   - requested_token_use missing (AADSTS900144) or not on_behalf_of
//     (AADSTS90023), or assertion missing (AADSTS900144): invalid_request;
//   - bad scopes: invalid_scope (see parseDelegatedScopes);
//   - an assertion that is not a token of this server for the request's
//     tenant (AADSTS50013), is expired or not yet valid (AADSTS500133),
//     is not a user token, idtyp "user" (AADSTS50013), names no
//     registered user (AADSTS50034), or was issued to a blocked or denied
//     agent: invalid_grant (or the block's answer);
//   - an assertion whose aud is neither the id of the agent's blueprint
//     (of the client, for a client that is no agent) nor "api://" + that
//     id: invalid_grant, AADSTS50013 ("Assertion audience does not
//     match").
//
// A delegated token may itself be the assertion of a further OBO request.
// OpenID Connect scopes are accepted and ignored: no ID or refresh token
// is issued.
func (a *Authority) onBehalfOf(req *grantRequest) (*tokenResponse, *tokenError) {
	c, acr, te := a.authenticate(req)
	if te != nil {
		return nil, te
	}
	switch use := req.form.Get("requested_token_use"); {
	case use == "":
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'requested_token_use'.")
	case use != onBehalfOfUse:
		return nil, invalidRequest(codeInvalidRequest,
			"The 'requested_token_use' parameter must be '%s'.", onBehalfOfUse)
	}
	assertion := req.form.Get("assertion")
	if assertion == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'assertion'.")
	}
	ds, te := parseDelegatedScopes(req.form.Get("scope"))
	if te != nil {
		return nil, te
	}

	cl, p := a.verifyOwn(assertion, req.tenant, req.now)
	if p != nil {
		return nil, p.grantError("assertion")
	}
	if te := a.gateToken(cl); te != nil {
		return nil, te
	}
	if cl.IDType != "user" {
		return nil, invalidGrant(codeInvalidAssertion,
			"The assertion is not a user token: its idtyp is '%s'.", cl.IDType)
	}
	u := a.lookupUser(cl.userOID())
	if u == nil {
		return nil, invalidGrant(codeUserNotFound,
			"The user account '%s' of the assertion does not exist in the directory '%s'.", cl.userOID(), req.tenant)
	}
	ag := a.agentOf(c)
	expected := c.id
	if ag != nil {
		expected = ag.blueprint
	}
	if !slices.Contains(cl.Audience, expected) && !slices.Contains(cl.Audience, "api://"+expected) {
		return nil, invalidGrant(codeInvalidAssertion,
			"Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or 'api://%s'.",
			strings.Join(cl.Audience, " "), expected, expected)
	}

	resp, te := a.issue(a.delegatedClaims(req, c, ag, acr, u, ds))
	if te != nil {
		return nil, te
	}
	resp.Scope = delegatedScopes{resource: ds.resource, perms: ds.perms}.granted()
	return resp, nil
}
