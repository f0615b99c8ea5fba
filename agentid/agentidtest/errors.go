package agentidtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// OAuthError is the body of an error answer injected by
// [Authority.FailNext]. It is rendered Entra-shaped: error is Code
// (default "server_error" for a 5xx status, else "invalid_request"),
// error_codes is ErrorCodes, and error_description is Description,
// prefixed with "AADSTS<first code>: " unless it already starts with
// "AADSTS", and followed by Entra's trace ID, correlation ID and timestamp
// lines.
type OAuthError struct {
	// Code is the OAuth error code (RFC 6749 §5.2), such as
	// "invalid_grant" or "temporarily_unavailable".
	Code string
	// Description is the human-readable error_description.
	Description string
	// ErrorCodes are Entra's numeric AADSTS codes, such as 53003.
	ErrorCodes []int
}

// Entra-style AADSTS codes of the errors this server answers. They are
// chosen to match what Microsoft Entra ID answers in the same situation as
// far as its public error-code reference tells; where Entra has no exact
// counterpart the nearest code is used. They are not contractual.
const (
	codeTenantNotFound    = 90002   // InvalidTenantName: tenant not found
	codeInvalidRequest    = 90023   // InvalidRequest: malformed request (duplicate parameter, body too large, two auth methods)
	codeMissingParameter  = 900144  // the request body must contain a parameter
	codePostOnly          = 900561  // the endpoint only accepts POST requests
	codeUnsupportedGrant  = 70003   // UnsupportedGrantType
	codeInvalidScope      = 70011   // InvalidScope: scope missing or malformed
	codeScopeNotDefault   = 1002012 // client credentials need exactly one scope ending in /.default
	codeInvalidTarget     = 9010010 // the resource parameter is invalid or does not match the scope
	codeAuthMethod        = 7000218 // the request must carry an accepted client credential
	codeInvalidSecret     = 7000215 // invalid client secret
	codeUnknownClient     = 700016  // application not found in the directory
	codeBadSignature      = 700027  // client assertion failed signature validation / key not registered
	codeAssertionTime     = 700024  // client assertion is not within its valid time range
	codeAssertionClientID = 700021  // client assertion's application identifier does not match client_id
	codeMalformedJWT      = 50027   // the assertion is not a well-formed JWT, or its type is not jwt-bearer
	codeInvalidAssertion  = 50013   // assertion invalid: audience, missing claim, replayed jti
	codeFICIssuer         = 700211  // no federated identity credential matches the assertion's issuer
	codeFICAudience       = 700212  // no federated identity credential matches the assertion's audience
	codeFICSubject        = 700213  // no federated identity credential matches the assertion's subject
	codeThrottled         = 90055   // TenantThrottlingError: too many requests
	codeAppDisabled       = 7000112 // UnauthorizedClientApplicationDisabled: the agent is blocked (BlockAgent)
	codePolicyBlocked     = 53003   // BlockedByConditionalAccess: the agent is denied by policy (DenyAgentByPolicy)
	codeAgentRefused      = 82001   // agent request refused: not a blueprint, agent of another blueprint, not the agent's user
	codeAssertionExpired  = 500133  // a grant's assertion or token is not within its valid time range
	codeUserNotFound      = 50034   // the user account does not exist in the directory
	codeGrantInvalid      = 70000   // InvalidGrant: the refresh token belongs to another client or tenant
	codeGrantExpired      = 70008   // ExpiredOrRevokedGrant: the refresh token expired or was already redeemed
	codeGrantRevoked      = 50173   // the grant was revoked (RevokeRefreshTokens)
	codeGrantMalformed    = 9002313 // the refresh token is malformed or unknown
)

// tokenError is an error answer of the server.
type tokenError struct {
	status int
	OAuthError
	header http.Header // extra response headers, such as Retry-After
}

// newError returns an error answer with one AADSTS code.
func newError(status int, code string, aadsts int, format string, args ...any) *tokenError {
	return &tokenError{
		status: status,
		OAuthError: OAuthError{
			Code:        code,
			Description: fmt.Sprintf("AADSTS%d: %s", aadsts, fmt.Sprintf(format, args...)),
			ErrorCodes:  []int{aadsts},
		},
	}
}

func invalidRequest(aadsts int, format string, args ...any) *tokenError {
	return newError(http.StatusBadRequest, "invalid_request", aadsts, format, args...)
}

func invalidScope(aadsts int, format string, args ...any) *tokenError {
	return newError(http.StatusBadRequest, "invalid_scope", aadsts, format, args...)
}

func invalidGrant(aadsts int, format string, args ...any) *tokenError {
	return newError(http.StatusBadRequest, "invalid_grant", aadsts, format, args...)
}

func unauthorizedClient(aadsts int, format string, args ...any) *tokenError {
	return newError(http.StatusBadRequest, "unauthorized_client", aadsts, format, args...)
}

func invalidTarget(format string, args ...any) *tokenError {
	return newError(http.StatusBadRequest, "invalid_target", codeInvalidTarget, format, args...)
}

// invalidClient returns an invalid_client answer (RFC 6749 §5.2): 401 with
// a WWW-Authenticate challenge when the client tried HTTP Basic, else 400.
func invalidClient(basic bool, aadsts int, format string, args ...any) *tokenError {
	if !basic {
		return newError(http.StatusBadRequest, "invalid_client", aadsts, format, args...)
	}
	te := newError(http.StatusUnauthorized, "invalid_client", aadsts, format, args...)
	te.header = http.Header{"Www-Authenticate": {`Basic realm="agentidtest"`}}
	return te
}

// injectedError renders an error queued by FailNext.
func injectedError(status int, e OAuthError) *tokenError {
	if status < 100 || status > 999 {
		status = http.StatusInternalServerError
	}
	if e.Code == "" {
		e.Code = "invalid_request"
		if status >= 500 {
			e.Code = "server_error"
		}
	}
	e.ErrorCodes = slices.Clone(e.ErrorCodes)
	if len(e.ErrorCodes) > 0 && !strings.HasPrefix(e.Description, "AADSTS") {
		e.Description = fmt.Sprintf("AADSTS%d: %s", e.ErrorCodes[0], e.Description)
	}
	return &tokenError{status: status, OAuthError: e}
}

// throttled returns a 429 answer with a Retry-After of whole seconds,
// rounded up.
func throttled(retryAfter int64) *tokenError {
	te := newError(http.StatusTooManyRequests, "temporarily_unavailable", codeThrottled,
		"There are too many incoming requests. Retry after %d seconds.", retryAfter)
	te.header = http.Header{"Retry-After": {strconv.FormatInt(retryAfter, 10)}}
	return te
}

// errorBody is the JSON of an Entra error answer.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes,omitempty"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri,omitempty"`
}

// writeError writes te as Entra does: the description ends with the trace
// ID, correlation ID and timestamp lines, which are also separate fields.
// The correlation ID echoes the request's client-request-id header when
// present. Descriptions never hold a secret or an assertion: they are made
// from constant text, client ids, tenant ids and scopes only.
func (a *Authority) writeError(w http.ResponseWriter, r *http.Request, te *tokenError) {
	traceID := newGUID()
	correlationID := r.Header.Get("client-request-id")
	if correlationID == "" || len(correlationID) > 64 {
		correlationID = newGUID()
	}
	ts := a.cfg.now().UTC().Format("2006-01-02 15:04:05Z")
	body := errorBody{
		Error: te.Code,
		ErrorDescription: fmt.Sprintf("%s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s",
			te.Description, traceID, correlationID, ts),
		ErrorCodes:    te.ErrorCodes,
		Timestamp:     ts,
		TraceID:       traceID,
		CorrelationID: correlationID,
	}
	if len(te.ErrorCodes) > 0 {
		body.ErrorURI = fmt.Sprintf("%s/error?code=%d", a.URL(), te.ErrorCodes[0])
	}
	for name, values := range te.header {
		w.Header()[name] = slices.Clone(values)
	}
	writeJSON(w, te.status, body)
}

// writeJSON writes v as a JSON answer that must not be cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	doc, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "agentidtest: encoding response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(append(doc, '\n'))
}
