package agentidtest

import (
	"slices"
	"strings"
)

// defaultDelegatedPermission is the permission a delegated token gets for
// "{resource}/.default": the one scope Entra exposes by default on a new
// API.
const defaultDelegatedPermission = "access_as_user"

// OpenID Connect scopes, which name no resource.
const (
	scopeOpenID        = "openid"
	scopeOfflineAccess = "offline_access"
)

// oidcScopes are the OpenID Connect scopes a delegated request may add to
// its resource scopes.
var oidcScopes = []string{scopeOpenID, "profile", "email", scopeOfflineAccess}

// delegatedScopes are the scopes of a delegated token request (the OBO,
// user_fic and refresh_token grants), parsed. It is immutable.
type delegatedScopes struct {
	resource string   // the one resource, the aud of the access token
	perms    []string // permission names, the scp of the access token
	oidc     []string // OpenID Connect scopes requested, in request order
}

// parseDelegatedScopes parses a space-separated scope parameter: OpenID
// Connect scopes (openid, profile, email, offline_access) and scopes of
// one resource, each "{resource}/{permission}" split at the last "/".
// "{resource}/.default" stands for the permission access_as_user and must
// be the resource's only scope. A missing scope, no resource scope,
// scopes of two resources, a malformed scope or .default with other
// scopes are answered invalid_scope, AADSTS70011.
func parseDelegatedScopes(param string) (delegatedScopes, *tokenError) {
	var ds delegatedScopes
	scopes := strings.Fields(param)
	if len(scopes) == 0 {
		return ds, invalidScope(codeInvalidScope,
			"The provided value for the input parameter 'scope' is not valid: scope is missing.")
	}
	isDefault := false
	for _, s := range scopes {
		if slices.Contains(oidcScopes, s) {
			if !slices.Contains(ds.oidc, s) {
				ds.oidc = append(ds.oidc, s)
			}
			continue
		}
		i := strings.LastIndex(s, "/")
		if i <= 0 || i == len(s)-1 || strings.HasSuffix(s[:i], "/") || strings.HasSuffix(s[:i], ":") {
			return ds, invalidScope(codeInvalidScope,
				"The provided value for scope '%s' is not valid: want '{resource}/{permission}'.", s)
		}
		resource, perm := s[:i], s[i+1:]
		if ds.resource != "" && resource != ds.resource {
			return ds, invalidScope(codeInvalidScope,
				"The provided value for scope is not valid: scopes name two resources, '%s' and '%s'.", ds.resource, resource)
		}
		ds.resource = resource
		if perm == ".default" {
			isDefault = true
			perm = defaultDelegatedPermission
		}
		if !slices.Contains(ds.perms, perm) {
			ds.perms = append(ds.perms, perm)
		}
	}
	if ds.resource == "" {
		return ds, invalidScope(codeInvalidScope,
			"The provided value for scope '%s' is not valid: it names no resource.", param)
	}
	if isDefault && len(ds.perms) > 1 {
		return ds, invalidScope(codeInvalidScope,
			"The provided value for scope is not valid: '%s/.default' cannot be combined with other scopes of the resource.", ds.resource)
	}
	return ds, nil
}

// withOIDCOf returns the resource scopes of ds with the OpenID Connect
// scopes of other.
func (ds delegatedScopes) withOIDCOf(other delegatedScopes) delegatedScopes {
	ds.oidc = other.oidc
	return ds
}

// granted returns the scope of the token response: each permission
// qualified by the resource, then the OpenID Connect scopes.
func (ds delegatedScopes) granted() string {
	out := make([]string, 0, len(ds.perms)+len(ds.oidc))
	for _, p := range ds.perms {
		out = append(out, ds.resource+"/"+p)
	}
	return strings.Join(append(out, ds.oidc...), " ")
}

// has reports whether the OpenID Connect scope name was requested.
func (ds delegatedScopes) has(name string) bool { return slices.Contains(ds.oidc, name) }
