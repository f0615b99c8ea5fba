package audit

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Errors of the exporter. Message text is not contractual: branch with
// errors.Is and errors.As.
var (
	// ErrClosed is returned by ExportSpans and ForceFlush after Shutdown.
	ErrClosed = errors.New("audit: exporter is shut down")
	// ErrSpoolFull is matched by the error of an export whose body the
	// spool could not take without passing its bound: the body's spans
	// were dropped and counted in Stats.Dropped.
	ErrSpoolFull = errors.New("audit: spool full, spans dropped")
)

// StatusError is an answer of the endpoint with a status other than 2xx.
// Those with status 408, 429 or 5xx are retried and, with a spool, the
// body is spooled; those with another 4xx status are not (the spans are
// counted as Rejected), except 401 and 403, which are spooled so that
// they are sent again once the credentials are fixed.
type StatusError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// RetryAfterHint is the wait the Retry-After header asked for, or 0.
	RetryAfterHint time.Duration
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("audit: endpoint answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Retryable reports whether the request may succeed if sent again as it
// is: 408, 429 and 5xx.
func (e *StatusError) Retryable() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// RetryAfter returns the Retry-After hint, for the retry policy.
func (e *StatusError) RetryAfter() time.Duration { return e.RetryAfterHint }

// PartialSuccessError reports an OTLP partialSuccess answer that rejected
// spans: the endpoint accepted the request but refused Rejected of its
// spans, for the reason in Message (the endpoint's text). Rejected spans
// are not sent again; they are counted in Stats.Rejected.
type PartialSuccessError struct {
	Rejected int64
	Message  string
}

func (e *PartialSuccessError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("audit: endpoint rejected %d spans", e.Rejected)
	}
	return fmt.Sprintf("audit: endpoint rejected %d spans: %s", e.Rejected, e.Message)
}

// transportError is a request that got no answer (connection refused,
// reset, timeout). It is retried.
type transportError struct{ err error }

func (e *transportError) Error() string   { return "audit: sending to the endpoint: " + e.err.Error() }
func (e *transportError) Unwrap() error   { return e.err }
func (e *transportError) Retryable() bool { return true }

// spoolable reports whether a body that failed with err may succeed
// later, so that it is kept in the spool rather than refused: anything
// but an answer the endpoint will give again (a 4xx other than 401, 403,
// 408 and 429) and an agent mismatch.
func spoolable(err error) bool {
	if errors.Is(err, ErrAgentMismatch) {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		switch {
		case se.Retryable(), se.StatusCode == http.StatusUnauthorized, se.StatusCode == http.StatusForbidden:
			return true
		case se.StatusCode >= 400 && se.StatusCode < 500:
			return false
		}
	}
	return true
}
