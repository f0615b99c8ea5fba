package oauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// ErrorResponse is an OAuth 2.0 error response (RFC 6749 §5.2) with
// Microsoft Entra's extensions.
type ErrorResponse struct {
	Code          string // "error"
	Description   string // "error_description"
	URI           string // "error_uri"
	ErrorCodes    []int  // Entra "error_codes" (AADSTS numbers)
	TraceID       string // Entra "trace_id"
	CorrelationID string // Entra "correlation_id"
	Timestamp     string // Entra "timestamp"
	SubError      string // Entra "suberror"
	Claims        string // Entra "claims": a claims challenge to send back
}

type wireError struct {
	Code          *string         `json:"error"`
	Description   string          `json:"error_description"`
	URI           string          `json:"error_uri"`
	ErrorCodes    json.RawMessage `json:"error_codes"`
	TraceID       string          `json:"trace_id"`
	CorrelationID string          `json:"correlation_id"`
	Timestamp     string          `json:"timestamp"`
	SubError      string          `json:"suberror"`
	Claims        string          `json:"claims"`
}

// maxErrorCodes bounds the error_codes kept from one response.
const maxErrorCodes = 16

// ParseErrorResponse parses an error response body. It reports false when
// body is not a JSON object with a string "error" member; members of the
// wrong type are ignored rather than fatal, since the status code already
// says the request failed.
func ParseErrorResponse(body []byte) (*ErrorResponse, bool) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, false
	}
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil {
		// A member of an unexpected type is skipped and the rest decoded
		// (encoding/json reports the first such member); anything else
		// is not an error response.
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, false
		}
	}
	if w.Code == nil || *w.Code == "" {
		return nil, false
	}
	e := &ErrorResponse{
		Code:          *w.Code,
		Description:   w.Description,
		URI:           w.URI,
		TraceID:       w.TraceID,
		CorrelationID: w.CorrelationID,
		Timestamp:     w.Timestamp,
		SubError:      w.SubError,
		Claims:        w.Claims,
	}
	if len(w.ErrorCodes) > 0 {
		var codes []json.Number
		if json.Unmarshal(w.ErrorCodes, &codes) == nil {
			for _, c := range codes {
				if n, err := strconv.Atoi(c.String()); err == nil && len(e.ErrorCodes) < maxErrorCodes {
					e.ErrorCodes = append(e.ErrorCodes, n)
				}
			}
		}
	}
	return e, true
}

// maxRetryAfter bounds a Retry-After hint; a server asking for longer is
// treated as asking for this long, and the retry policy's elapsed-time
// bound decides whether to wait at all.
const maxRetryAfter = time.Hour

// ParseRetryAfter parses a Retry-After header value (RFC 9110 §10.2.3):
// delay-seconds or an HTTP-date, relative to now. It returns 0 for an
// empty, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	// A delay-seconds value past int64 asks for a very long wait, not
	// none: ParseInt then saturates at ±MaxInt64 with ErrRange.
	if n, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v) // IMF-fixdate, RFC 850 and asctime (RFC 9110 §5.6.7)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}
