package agentidtest

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// maxFormBytes bounds the body of a token request.
const maxFormBytes = 64 << 10

// formContentType is the only media type the token endpoint accepts
// (RFC 6749 §3.2).
const formContentType = "application/x-www-form-urlencoded"

// grantRequest is a token request being answered.
type grantRequest struct {
	ctx    context.Context
	tenant string
	form   url.Values
	header http.Header
	now    time.Time // when the request was received, by the configured clock
}

// grantFunc answers a token request of one grant type.
type grantFunc func(a *Authority, req *grantRequest) (*tokenResponse, *tokenError)

// grants maps each supported grant_type to its handler; each lives in its
// own grant_*.go file. Discovery advertises these keys.
var grants = map[string]grantFunc{
	grantClientCredentials: (*Authority).clientCredentials,
	grantJWTBearer:         (*Authority).onBehalfOf,
	grantUserFIC:           (*Authority).userFIC,
	grantRefreshToken:      (*Authority).refreshToken,
	grantTokenExchange:     (*Authority).tokenExchange,
}

// tokenResponse is a successful token response (RFC 6749 §5.1) with
// Entra's ext_expires_in, refresh_in and client_info, OpenID Connect's
// id_token and RFC 8693's issued_token_type. Empty optional fields are
// left out.
type tokenResponse struct {
	TokenType       string `json:"token_type"`
	Scope           string `json:"scope,omitempty"`
	ExpiresIn       int64  `json:"expires_in"`
	ExtExpiresIn    int64  `json:"ext_expires_in"`
	RefreshIn       int64  `json:"refresh_in,omitempty"`
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type,omitempty"`
	RefreshToken    string `json:"refresh_token,omitempty"`
	IDToken         string `json:"id_token,omitempty"`
	ClientInfo      string `json:"client_info,omitempty"`
}

// statusWriter remembers the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// handleToken serves the token endpoint of the tenant in the path. In
// order: the request is parsed and logged; it waits for the configured
// latency; pending throttling, then pending failures are answered; then
// the request is checked and dispatched on grant_type.
func (a *Authority) handleToken(w http.ResponseWriter, r *http.Request) {
	if id := r.Header.Get("client-request-id"); id != "" && len(id) <= 64 {
		w.Header().Set("client-request-id", id)
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		te := newError(http.StatusMethodNotAllowed, "invalid_request", codePostOnly,
			"The endpoint only accepts POST requests. Received a %s request.", r.Method)
		a.writeError(w, r, te)
		return
	}
	now := a.cfg.now()
	form, formErr := readForm(w, r)
	entry := a.faults.record(now, form, r.Header)
	sw := &statusWriter{ResponseWriter: w}
	defer func() { a.faults.done(entry, sw.status) }()

	if !a.faults.wait(r.Context()) {
		// The client went away or the Authority is closing: drop the
		// connection rather than answer.
		panic(http.ErrAbortHandler)
	}
	if te := a.faults.next(); te != nil {
		a.writeError(sw, r, te)
		return
	}
	if formErr != nil {
		a.writeError(sw, r, formErr)
		return
	}
	tenant := r.PathValue("tenant")
	if !a.knownTenant(tenant) {
		a.writeError(sw, r, tenantNotFound(tenant))
		return
	}
	req := &grantRequest{ctx: r.Context(), tenant: tenant, form: form, header: r.Header, now: now}
	resp, te := a.dispatch(req)
	if te != nil {
		a.writeError(sw, r, te)
		return
	}
	writeJSON(sw, http.StatusOK, resp)
}

// dispatch answers req with the handler of its grant_type.
func (a *Authority) dispatch(req *grantRequest) (*tokenResponse, *tokenError) {
	grant := req.form.Get("grant_type")
	if grant == "" {
		return nil, invalidRequest(codeMissingParameter,
			"The request body must contain the following parameter: 'grant_type'.")
	}
	handle, ok := grants[grant]
	if !ok {
		return nil, newError(http.StatusBadRequest, "unsupported_grant_type", codeUnsupportedGrant,
			"The app requested an unsupported grant type '%s'.", grant)
	}
	return handle(a, req)
}

// readForm reads the form body of a token request. It returns the form
// (empty if unreadable) and, if the request is malformed, the answer.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *tokenError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != formContentType {
		return url.Values{}, invalidRequest(codeInvalidRequest,
			"The request body must be of type '%s'.", formContentType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFormBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return url.Values{}, invalidRequest(codeInvalidRequest,
				"The request body is larger than %d bytes.", maxFormBytes)
		}
		return url.Values{}, invalidRequest(codeInvalidRequest, "The request body could not be read.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return url.Values{}, invalidRequest(codeInvalidRequest, "The request body is not a valid form.")
	}
	// RFC 6749 §3.2: parameters must not be repeated. RFC 8707 §2 allows
	// several resource parameters, and RFC 8693 §2.1 several audience
	// parameters; the grant decides what it accepts.
	for name, values := range form {
		if len(values) > 1 && name != "resource" && name != "audience" {
			return form, invalidRequest(codeInvalidRequest,
				"The request body must contain the parameter '%s' only once.", name)
		}
	}
	return form, nil
}

// issue signs claims as an access token and wraps it in a token response.
func (a *Authority) issue(claims map[string]any) (*tokenResponse, *tokenError) {
	tok, te := a.signToken(claims)
	if te != nil {
		return nil, te
	}
	lifetime := int64(a.cfg.lifetime / time.Second)
	return &tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    lifetime,
		ExtExpiresIn: lifetime,
		RefreshIn:    int64(a.cfg.refreshIn / time.Second),
		AccessToken:  tok,
	}, nil
}

// signToken signs claims as a token of the server, answering server_error
// if that fails.
func (a *Authority) signToken(claims map[string]any) (string, *tokenError) {
	tok, err := a.sign(claims)
	if err != nil {
		return "", &tokenError{status: http.StatusInternalServerError, OAuthError: OAuthError{
			Code:        "server_error",
			Description: "The token could not be signed.",
		}}
	}
	return tok, nil
}
