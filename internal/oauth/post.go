package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// StatusError is a non-2xx answer from a token endpoint.
type StatusError struct {
	StatusCode int
	// RetryAfter is the server's Retry-After hint, 0 when absent.
	RetryAfter time.Duration
	// OAuth is the parsed error body, nil when the body was not one.
	OAuth *ErrorResponse
	// RequestID is the client-request-id sent with the request, if any.
	RequestID string
}

func (e *StatusError) Error() string {
	if e.OAuth != nil {
		return fmt.Sprintf("oauth: token endpoint answered %d %s", e.StatusCode, e.OAuth.Code)
	}
	return fmt.Sprintf("oauth: token endpoint answered %d", e.StatusCode)
}

// TransportError is a failure to get any answer from the token endpoint:
// connection refused, reset, timeout, a body cut short.
type TransportError struct{ Err error }

func (e *TransportError) Error() string { return "oauth: token request failed: " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// ErrTooLarge is returned when a response body exceeds MaxResponseBytes.
var ErrTooLarge = errors.New("oauth: response body exceeds 1 MiB")

// Post sends form to tokenURL as application/x-www-form-urlencoded with
// the extra header, and parses the answer. The error is a *StatusError, a
// *TransportError, a *ParseError, ErrTooLarge, or the context's error.
// Neither the form nor the header ever appear in an error.
func Post(ctx context.Context, hc *http.Client, tokenURL string, form url.Values, header http.Header) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauth: building token request: %w", redactURLError(err))
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &TransportError{Err: redactURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &TransportError{Err: err}
	}
	if len(body) > MaxResponseBytes {
		return nil, ErrTooLarge
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		se := &StatusError{
			StatusCode: resp.StatusCode,
			RetryAfter: ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
			RequestID:  req.Header.Get("client-request-id"),
		}
		se.OAuth, _ = ParseErrorResponse(body)
		return nil, se
	}
	return ParseResponse(body)
}

// redactURLError drops the URL's query from a *url.Error: a token URL
// has none in practice, but nothing from the request may reach an error
// message unchecked.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && (u.RawQuery != "" || u.User != nil) {
			u.RawQuery = ""
			u.User = nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
}
