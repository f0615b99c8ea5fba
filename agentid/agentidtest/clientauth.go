package agentidtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"strings"
)

// clientAssertionType is the client_assertion_type of a JWT client
// assertion (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Values of the azpacr claim: how the client authenticated.
const (
	acrSecret    = "1" // a client secret
	acrAssertion = "2" // a certificate, key or federated assertion
)

// authenticate authenticates the client of req with exactly one method
// (RFC 6749 §2.3): HTTP Basic, client_secret in the form, or a JWT client
// assertion. It returns the client and the azpacr of its tokens.
func (a *Authority) authenticate(req *grantRequest) (*client, string, *tokenError) {
	basic := hasBasicAuth(req.header.Get("Authorization"))
	var used []string
	if basic {
		used = append(used, methodSecretBasic)
	}
	if req.form.Has("client_secret") {
		used = append(used, methodSecretPost)
	}
	if req.form.Has("client_assertion") || req.form.Has("client_assertion_type") {
		used = append(used, methodPrivateKeyJWT)
	}
	switch {
	case len(used) > 1:
		return nil, "", invalidRequest(codeInvalidRequest,
			"The request must use exactly one client authentication method; it used %s.", strings.Join(used, " and "))
	case len(used) == 0:
		return nil, "", invalidClient(false, codeAuthMethod,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case !a.cfg.allows(used[0]):
		return nil, "", invalidClient(basic, codeAuthMethod,
			"The client authentication method '%s' is not allowed by this server. Use one of: %s.",
			used[0], strings.Join(a.cfg.authMethods, ", "))
	}

	var c *client
	var te *tokenError
	acr := acrSecret
	switch used[0] {
	case methodSecretBasic:
		c, te = a.authenticateBasic(req)
	case methodSecretPost:
		c, te = a.authenticatePost(req)
	default:
		c, te = a.authenticateAssertion(req)
		acr = acrAssertion
	}
	if te != nil {
		return nil, "", te
	}
	// A blocked or denied agent is refused whichever way it authenticated.
	if ag := a.agentOf(c); ag != nil {
		if te := a.agentGate(ag.id); te != nil {
			return nil, "", te
		}
	}
	return c, acr, nil
}

// hasBasicAuth reports whether an Authorization header uses the Basic
// scheme; the scheme name is case-insensitive (RFC 7617 §2).
func hasBasicAuth(authz string) bool {
	scheme, _, _ := strings.Cut(authz, " ")
	return strings.EqualFold(scheme, "Basic")
}

// authenticateBasic checks client_secret_basic: the Authorization header
// carries base64(urlencode(id) ":" urlencode(secret)) (RFC 6749 §2.3.1).
func (a *Authority) authenticateBasic(req *grantRequest) (*client, *tokenError) {
	_, encoded, _ := strings.Cut(req.header.Get("Authorization"), " ")
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, invalidClient(true, codeInvalidRequest, "The Authorization header is not valid Basic credentials.")
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, invalidClient(true, codeInvalidRequest, "The Authorization header is not valid Basic credentials.")
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id == "" {
		return nil, invalidClient(true, codeInvalidRequest,
			"The Basic credentials are not form-urlencoded as RFC 6749 section 2.3.1 requires.")
	}
	if formID := req.form.Get("client_id"); formID != "" && formID != id {
		return nil, invalidClient(true, codeInvalidRequest,
			"The client_id '%s' in the request body does not match the client in the Authorization header.", formID)
	}
	return a.checkSecret(req, id, secret, true)
}

// authenticatePost checks client_secret_post: client_id and client_secret
// in the form.
func (a *Authority) authenticatePost(req *grantRequest) (*client, *tokenError) {
	id := req.form.Get("client_id")
	if id == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'client_id'.")
	}
	return a.checkSecret(req, id, req.form.Get("client_secret"), false)
}

// checkSecret returns the client id if secret is one of its secrets.
func (a *Authority) checkSecret(req *grantRequest, id, secret string, basic bool) (*client, *tokenError) {
	c := a.lookupClient(id)
	if c == nil {
		return nil, unknownClient(req, id, basic)
	}
	// Compare digests so that neither the content nor the length of a
	// registered secret leaks through timing.
	got := sha256.Sum256([]byte(secret))
	match := 0
	for _, s := range c.secrets {
		want := sha256.Sum256([]byte(s))
		match |= subtle.ConstantTimeCompare(got[:], want[:])
	}
	if match != 1 {
		return nil, invalidClient(basic, codeInvalidSecret,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", id)
	}
	return c, nil
}

// authenticateAssertion checks private_key_jwt: a JWT client assertion
// signed with a registered key or certificate (RFC 7523 §3), issued by a
// trusted federated issuer, or, for an agent identity, its blueprint's
// exchange token.
func (a *Authority) authenticateAssertion(req *grantRequest) (*client, *tokenError) {
	if t := req.form.Get("client_assertion_type"); t != clientAssertionType {
		return nil, invalidClient(false, codeMalformedJWT,
			"The client_assertion_type must be '%s'.", clientAssertionType)
	}
	assertion := req.form.Get("client_assertion")
	if assertion == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'client_assertion'.")
	}
	p, te := parseAssertion(assertion)
	if te != nil {
		return nil, te
	}
	id := req.form.Get("client_id")
	if id == "" {
		id = p.claims.Issuer // RFC 7523 §3: client_id is optional; iss names the client
	}
	if id == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'client_id'.")
	}
	c := a.lookupClient(id)
	// An agent identity presents its blueprint's exchange token (T1),
	// issued by this server. A single-instance agent is also a client,
	// whose own assertions are told apart by their issuer.
	if ag := a.lookupAgent(id); ag != nil && (c == nil || p.claims.Issuer == a.IssuerFor(req.tenant)) {
		return a.authenticateAgent(req, ag, assertion)
	}
	if c == nil {
		return nil, unknownClient(req, id, false)
	}
	if p.claims.Issuer != c.id && len(c.federated) > 0 {
		te = a.verifyFederated(req, c, p)
	} else {
		te = a.verifyPrivateKeyJWT(req, c, p)
	}
	if te != nil {
		return nil, te
	}
	return c, nil
}

// unknownClient is the answer for a client id that is not registered.
func unknownClient(req *grantRequest, id string, basic bool) *tokenError {
	return invalidClient(basic, codeUnknownClient,
		"Application with identifier '%s' was not found in the directory '%s'.", id, req.tenant)
}
