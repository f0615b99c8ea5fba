package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxResponseBytes bounds the body read from a token endpoint.
const MaxResponseBytes = 1 << 20

// maxLifetime bounds expires_in and refresh_in: ten years, far above any
// real token and far below an overflow of microseconds in an int64.
const maxLifetime = 10 * 365 * 24 * 3600

// Response is a token endpoint's success response.
type Response struct {
	AccessToken     string
	TokenType       string
	ExpiresIn       int64 // seconds; 0 when the server sent none
	ExtExpiresIn    int64 // seconds (Entra); 0 when absent
	RefreshIn       int64 // seconds (Entra); 0 when absent
	RefreshToken    string
	Scope           string
	IDToken         string
	IssuedTokenType string // RFC 8693 §2.2.1
	ClientInfo      string // Entra, base64url JSON, with client_info=1
}

// ParseError reports a malformed success response. Its message names the
// field at fault and never contains a token.
type ParseError struct {
	Field  string
	Reason string
}

func (e *ParseError) Error() string {
	if e.Field == "" {
		return "oauth: malformed token response: " + e.Reason
	}
	return "oauth: malformed token response: " + e.Field + ": " + e.Reason
}

type wireResponse struct {
	AccessToken     *string         `json:"access_token"`
	TokenType       *string         `json:"token_type"`
	ExpiresIn       json.RawMessage `json:"expires_in"`
	ExtExpiresIn    json.RawMessage `json:"ext_expires_in"`
	RefreshIn       json.RawMessage `json:"refresh_in"`
	RefreshToken    *string         `json:"refresh_token"`
	Scope           *string         `json:"scope"`
	IDToken         *string         `json:"id_token"`
	IssuedTokenType *string         `json:"issued_token_type"`
	ClientInfo      *string         `json:"client_info"`
}

// ParseResponse parses a success response body. It requires a JSON object
// with a non-empty access_token and a token_type of Bearer (any case; the
// result is normalised to "Bearer"), or N_A for an RFC 8693 response that
// names its issued_token_type. Lifetimes may be JSON numbers or decimal
// strings (Entra v1 sends strings); they must be whole, non-negative and
// at most ten years.
func ParseResponse(body []byte) (*Response, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &ParseError{Reason: "empty body"}
	}
	if body[0] != '{' {
		return nil, &ParseError{Reason: "not a JSON object"}
	}
	var w wireResponse
	if err := json.Unmarshal(body, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &ParseError{Field: te.Field, Reason: "wrong JSON type " + te.Value}
		}
		return nil, &ParseError{Reason: "invalid JSON"}
	}
	r := &Response{
		AccessToken:     deref(w.AccessToken),
		TokenType:       deref(w.TokenType),
		RefreshToken:    deref(w.RefreshToken),
		Scope:           deref(w.Scope),
		IDToken:         deref(w.IDToken),
		IssuedTokenType: deref(w.IssuedTokenType),
		ClientInfo:      deref(w.ClientInfo),
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		dst  *int64
	}{
		{"expires_in", w.ExpiresIn, &r.ExpiresIn},
		{"ext_expires_in", w.ExtExpiresIn, &r.ExtExpiresIn},
		{"refresh_in", w.RefreshIn, &r.RefreshIn},
	} {
		n, reason := parseSeconds(f.raw)
		if reason != "" {
			return nil, &ParseError{Field: f.name, Reason: reason}
		}
		*f.dst = n
	}
	if r.AccessToken == "" {
		return nil, &ParseError{Field: "access_token", Reason: "missing or empty"}
	}
	if !visibleASCII(r.AccessToken) {
		// It goes into an Authorization header (RFC 6750 §2.1 b64token).
		return nil, &ParseError{Field: "access_token", Reason: "contains white space, control or non-ASCII characters"}
	}
	switch {
	case strings.EqualFold(r.TokenType, "bearer"):
		r.TokenType = "Bearer"
	case r.TokenType == "N_A" && r.IssuedTokenType != "":
	case r.TokenType == "":
		return nil, &ParseError{Field: "token_type", Reason: "missing"}
	default:
		return nil, &ParseError{Field: "token_type", Reason: fmt.Sprintf("unsupported type %q", truncate(r.TokenType, 32))}
	}
	if r.RefreshIn > 0 && r.ExpiresIn > 0 && r.RefreshIn > r.ExpiresIn {
		// A refresh point past expiry is meaningless; ignore it rather
		// than fail, the expiry still bounds the token.
		r.RefreshIn = 0
	}
	return r, nil
}

// parseSeconds decodes a lifetime sent as a JSON number or a decimal
// string. It returns a non-empty reason when raw is not a valid lifetime.
func parseSeconds(raw json.RawMessage) (int64, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, ""
	}
	text := string(raw)
	if raw[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, "invalid string"
		}
		text = strings.TrimSpace(str)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		// Accept a JSON number written with a zero fraction or an exponent
		// (3600.0, 3.6e3) as long as it is whole and in range.
		f, ferr := strconv.ParseFloat(text, 64)
		if ferr != nil || f < 0 || f > maxLifetime || f != float64(int64(f)) {
			return 0, "not a whole number of seconds in range"
		}
		n = int64(f)
	}
	if n < 0 || n > maxLifetime {
		return 0, "out of range"
	}
	return n, ""
}

// visibleASCII reports whether s holds only printable ASCII other than
// space.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
