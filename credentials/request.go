package credentials

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Request says which token a caller wants.
//
// Two requests get the same cached token only when every field is equal,
// with Scopes compared as a set (order and repetition do not matter).
type Request struct {
	// Scopes are the scopes asked for, e.g. "api://orders/.default" or
	// "https://graph.microsoft.com/.default". For Microsoft Entra app
	// tokens exactly one "{resource}/.default" scope is expected.
	Scopes []string
	// Resource is an RFC 8707 resource indicator, optional. With an Entra
	// authority and no Scopes it becomes the scope "{Resource}/.default";
	// with other authorities it is sent as the resource parameter.
	Resource string
	// Claims is a claims challenge (a JSON object) from a resource that
	// rejected a token, e.g. for continuous access evaluation. Optional.
	Claims string
	// TenantID overrides the authority's tenant for a multi-tenant Entra
	// application. Optional.
	TenantID string
}

// maxScopes bounds the scopes of one request.
const maxScopes = 64

// validate checks what the token endpoint would otherwise reject, and
// what must never reach a URL path (the tenant).
func (r *Request) validate() error {
	if len(r.Scopes) == 0 && r.Resource == "" {
		return fmt.Errorf("%w: no scope and no resource", ErrInvalidRequest)
	}
	if len(r.Scopes) > maxScopes {
		return fmt.Errorf("%w: %d scopes, at most %d", ErrInvalidRequest, len(r.Scopes), maxScopes)
	}
	for i, s := range r.Scopes {
		if s == "" {
			return fmt.Errorf("%w: scope %d is empty", ErrInvalidRequest, i)
		}
		if strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("%w: scope %d contains a space, quote or backslash", ErrInvalidRequest, i)
		}
	}
	if strings.ContainsAny(r.Resource, " \t\r\n") {
		return fmt.Errorf("%w: resource contains white space", ErrInvalidRequest)
	}
	if r.Claims != "" && !json.Valid([]byte(r.Claims)) {
		return fmt.Errorf("%w: claims is not valid JSON", ErrInvalidRequest)
	}
	if r.TenantID != "" && !validTenant(r.TenantID) {
		return fmt.Errorf("%w: tenant id %q is not a GUID or domain name", ErrInvalidRequest, r.TenantID)
	}
	return nil
}

// validTenant reports whether t can stand as one URL path segment: a
// GUID, a domain name, or one of Entra's aliases (common, organizations,
// consumers).
func validTenant(t string) bool {
	if t == "" || len(t) > 256 || t == "." || t == ".." {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}

// canonicalScopes returns the scopes sorted with repetitions removed.
func canonicalScopes(scopes []string) []string {
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out)
}
