package agentid

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// maxFormPeek bounds how much of a form body Middleware reads, looking
// for an access_token parameter.
const maxFormPeek = 64 << 10

// contextKey is the key of the Principal in a context.
type contextKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// FromContext returns the Principal in ctx, put there by [Middleware] or
// [NewContext], and whether there is one.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}

// Middleware returns HTTP middleware that lets a request through only
// with a valid bearer token, and puts its [Principal] in the request
// context ([FromContext]).
//
// The token is read from the Authorization header only (RFC 6750 §2.1).
// The middleware answers, with a WWW-Authenticate Bearer challenge
// (RFC 6750 §3) that carries resource_metadata when
// [WithResourceMetadataURL] is set (RFC 9728 §5.1):
//
//   - 400 invalid_request when the request carries an access_token in its
//     query, or in a form body (whose first 64 KiB are read, and put back
//     for the handler), or more than one Authorization header, or a
//     Bearer credential that is empty or not a token;
//   - 401 without an error code when there is no Authorization header, or
//     its scheme is not Bearer (compared case-insensitively);
//   - 401 invalid_token, with a short error_description, when v rejects
//     the token;
//   - 503 when v is closed, and 500 on any other failure to verify.
//
// Error answers have a small JSON body ({"error": …,
// "error_description": …}) and never echo the token.
func Middleware(v *Verifier, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	cfg := newMiddlewareConfig(opts)
	tracer := cfg.tracer()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			token, status, code, desc := bearerToken(r)
			if status != 0 {
				writeChallenge(w, status, code, desc, cfg.metadataURL, "")
				return
			}
			p, err := v.Verify(r.Context(), token)
			traceVerify(r.Context(), tracer, p, err)
			if err != nil {
				var ve *VerifyError
				switch {
				case errors.As(err, &ve):
					writeChallenge(w, http.StatusUnauthorized, "invalid_token", describe(ve), cfg.metadataURL, "")
				case errors.Is(err, ErrClosed):
					writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The token cannot be verified now.")
				default:
					writeError(w, http.StatusInternalServerError, "server_error", "The token could not be verified.")
				}
				return
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
		})
	}
}

// bearerToken extracts the bearer token of r. When r must be refused, it
// returns the status, the error code (empty for none) and a description.
func bearerToken(r *http.Request) (token string, status int, code, desc string) {
	if r.URL.RawQuery != "" && r.URL.Query().Has("access_token") {
		return "", http.StatusBadRequest, "invalid_request", "Send the access token in the Authorization header, not in the URI."
	}
	if formHasAccessToken(r) {
		return "", http.StatusBadRequest, "invalid_request", "Send the access token in the Authorization header, not in the body."
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", http.StatusUnauthorized, "", ""
	case 1:
	default:
		return "", http.StatusBadRequest, "invalid_request", "More than one Authorization header."
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", http.StatusUnauthorized, "", ""
	}
	cred = strings.TrimLeft(cred, " ")
	if !isToken68(cred) {
		return "", http.StatusBadRequest, "invalid_request", "The Bearer credential is not a token."
	}
	return cred, 0, "", ""
}

// isToken68 reports whether s is a b64token (RFC 6750 §2.1): one or more
// of ALPHA DIGIT - . _ ~ + /, then any number of =.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// formHasAccessToken reports whether r has a form body with an
// access_token parameter in its first maxFormPeek bytes. What it reads
// is put back in front of the body for the handler.
func formHasAccessToken(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return false
	}
	br := bufio.NewReaderSize(r.Body, maxFormPeek)
	peek, _ := br.Peek(maxFormPeek)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	for pair := range strings.SplitSeq(string(peek), "&") {
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == "access_token" {
			return true
		}
	}
	return false
}

// describe returns the error_description for a rejected token: short,
// fixed text per check, never the token or a claim value.
func describe(e *VerifyError) string {
	switch e.Check {
	case CheckSize:
		return "The token is too large."
	case CheckMalformed:
		return "The token is malformed."
	case CheckAlgorithm:
		return "The token's signing algorithm is not accepted."
	case CheckHeader:
		return "The token's header is not supported."
	case CheckKey:
		return "The token is signed with an unknown key."
	case CheckSignature:
		return "The token's signature is invalid."
	case CheckRequiredClaim:
		return "The token lacks a required claim."
	case CheckIssuer:
		return "The token is from another issuer."
	case CheckAudience:
		return "The token is for another audience."
	case CheckExpiry:
		return "The token expired."
	case CheckNotBefore:
		return "The token is not valid yet."
	case CheckIssuedAt:
		return "The token is issued in the future."
	}
	return "The token is invalid."
}

// RequireScopes returns middleware that lets a request through only if
// the Principal in its context (put there by [Middleware]) has every one
// of scopes ([Principal.HasScope]). Otherwise it answers 403 with a
// Bearer challenge of error="insufficient_scope" and scope listing scopes
// (RFC 6750 §3.1); with no Principal in the context, 401.
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	want := strings.Join(scopes, " ")
	return require(func(p *Principal) bool {
		for _, s := range scopes {
			if !p.HasScope(s) {
				return false
			}
		}
		return true
	}, want, "The token lacks a required scope.")
}

// RequireRoles returns middleware that lets a request through only if
// the Principal in its context (put there by [Middleware]) has every one
// of roles ([Principal.HasRole]). Otherwise it answers 403 with a Bearer
// challenge of error="insufficient_scope" (app roles are no OAuth scopes,
// so the challenge names none); with no Principal in the context, 401.
func RequireRoles(roles ...string) func(http.Handler) http.Handler {
	return require(func(p *Principal) bool {
		for _, r := range roles {
			if !p.HasRole(r) {
				return false
			}
		}
		return true
	}, "", "The token lacks a required app role.")
}

// require returns middleware that lets through the requests whose
// Principal passes ok.
func require(ok func(*Principal) bool, scope, desc string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, found := FromContext(r.Context())
			if !found {
				writeChallenge(w, http.StatusUnauthorized, "", "", "", "")
				return
			}
			if !ok(p) {
				writeChallenge(w, http.StatusForbidden, "insufficient_scope", desc, "", scope)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// writeChallenge answers status with a Bearer challenge.
func writeChallenge(w http.ResponseWriter, status int, code, desc, metadataURL, scope string) {
	var params []string
	if code != "" {
		params = append(params, `error="`+quotedValue(code)+`"`)
	}
	if desc != "" {
		params = append(params, `error_description="`+quotedValue(desc)+`"`)
	}
	if scope != "" {
		params = append(params, `scope="`+quotedValue(scope)+`"`)
	}
	if metadataURL != "" {
		params = append(params, `resource_metadata="`+quotedValue(metadataURL)+`"`)
	}
	challenge := "Bearer"
	if len(params) > 0 {
		challenge += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", challenge)
	if code == "" {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	writeError(w, status, code, desc)
}

// writeError answers status with a JSON error body.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	body, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description,omitempty"`
	}{code, desc})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// quotedValue keeps the characters RFC 6750 §3 allows in error,
// error_description and scope values (%x20-21 / %x23-5B / %x5D-7E), so
// that the value needs no escaping inside a quoted-string (RFC 9110
// §5.6.4); others, including '"' and '\', are dropped.
func quotedValue(s string) string {
	ok := func(c byte) bool { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' }
	clean := true
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if ok(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}
