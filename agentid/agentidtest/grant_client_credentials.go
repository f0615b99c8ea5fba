package agentidtest

import (
	"net/url"
	"strings"
)

// grantClientCredentials is the grant_type of RFC 6749 §4.4.
const grantClientCredentials = "client_credentials"

// defaultScopeSuffix ends the one scope of an Entra client credentials
// request: "{resource}/.default".
const defaultScopeSuffix = "/.default"

// clientCredentials answers a client credentials request (RFC 6749 §4.4)
// with Entra's rules: the client authenticates, and scope is exactly one
// "{resource}/.default" value, whose resource becomes the token's aud.
// Alternatively (RFC 8707) a resource parameter names the audience; then
// scope is absent, the matching /.default, or delegated-style scopes,
// which are put in scp.
//
// A blueprint's request with fmi_path gets an agent's exchange token
// (leg 1, see fmiExchange). An agent identity, authenticated by that
// token or, single-instance, by its blueprint's credential, gets an
// autonomous agent token (leg 2).
func (a *Authority) clientCredentials(req *grantRequest) (*tokenResponse, *tokenError) {
	c, acr, te := a.authenticate(req)
	if te != nil {
		return nil, te
	}
	if req.form.Has("fmi_path") {
		return a.fmiExchange(req, c, acr)
	}
	aud, scp, te := appAudience(req.form)
	if te != nil {
		return nil, te
	}
	var claims map[string]any
	if ag := a.agentOf(c); ag != nil {
		claims = a.agentAppClaims(req, ag, acr, aud)
	} else {
		claims = a.appClaims(req, c, acr, aud)
	}
	if scp != "" {
		claims["scp"] = scp
	}
	return a.issue(claims)
}

// appAudience returns the audience and the scp claim (empty for none) of
// an app token request.
func appAudience(form url.Values) (aud, scp string, te *tokenError) {
	scopes := strings.Fields(form.Get("scope"))
	resources := form["resource"]
	if len(resources) == 0 {
		if len(scopes) == 0 {
			return "", "", invalidScope(codeInvalidScope,
				"The provided value for the input parameter 'scope' is not valid: scope is missing.")
		}
		if len(scopes) != 1 || !isDefaultScope(scopes[0]) {
			return "", "", invalidScope(codeScopeNotDefault,
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
				strings.Join(scopes, " "))
		}
		return strings.TrimSuffix(scopes[0], defaultScopeSuffix), "", nil
	}

	// RFC 8707 §2: one resource, an absolute URI without a fragment.
	if len(resources) > 1 {
		return "", "", invalidTarget("Only one resource parameter is supported.")
	}
	resource := resources[0]
	if u, err := url.Parse(resource); err != nil || !u.IsAbs() || u.Fragment != "" {
		return "", "", invalidTarget("The resource '%s' is not an absolute URI without a fragment.", resource)
	}
	for _, s := range scopes {
		if !strings.HasSuffix(s, defaultScopeSuffix) {
			continue
		}
		if len(scopes) != 1 || strings.TrimSuffix(s, defaultScopeSuffix) != resource {
			return "", "", invalidTarget("The resource '%s' does not match the requested scopes.", resource)
		}
		return resource, "", nil
	}
	return resource, strings.Join(scopes, " "), nil
}

// isDefaultScope reports whether scope is "{resource}/.default" with a
// non-empty resource.
func isDefaultScope(scope string) bool {
	return strings.HasSuffix(scope, defaultScopeSuffix) && len(scope) > len(defaultScopeSuffix)
}
