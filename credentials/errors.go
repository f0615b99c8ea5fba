package credentials

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/agentpassport/passport/internal/oauth"
	"github.com/agentpassport/passport/internal/retry"
)

// Sentinel errors. Branch on them with [errors.Is]; the message text of
// any error from this package is not contractual.
var (
	// ErrClosed is returned by every method of a [Source] after Close.
	ErrClosed = errors.New("credentials: source is closed")
	// ErrPolicyDenied matches a token request that an authorization
	// policy refused: a Conditional Access block (Entra AADSTS53003 and
	// its kin), an access_denied answer, or the local pre-acquire hook.
	// It is never retried.
	ErrPolicyDenied = errors.New("credentials: denied by policy")
	// ErrAgentBlocked matches a token request refused because the agent
	// (or its application) is disabled or blocked. It is never retried.
	ErrAgentBlocked = errors.New("credentials: agent is disabled or blocked")
	// ErrInvalidRequest matches a [Request] refused before any network
	// call: no scope, a scope with a space, a malformed tenant id, …
	ErrInvalidRequest = errors.New("credentials: invalid token request")
	// ErrInsecureHTTP matches a refusal to send a credential or a token
	// over plain HTTP to a host other than loopback. See [WithInsecureHTTP].
	ErrInsecureHTTP = errors.New("credentials: refusing to send a credential over plain http")
)

// policyCodes are Entra error codes for a Conditional Access or risk
// block (AADSTS53000 to 53004, 53011, 530032).
var policyCodes = []int{53000, 53001, 53002, 53003, 53004, 53011, 530032}

// blockedCodes are Entra error codes for a disabled application or
// account (AADSTS7000112 application disabled, 50057 account disabled).
var blockedCodes = []int{7000112, 50057}

// permanentCodes are OAuth error codes that no retry can fix.
var permanentCodes = []string{
	"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope",
	"invalid_request", "unsupported_grant_type", "invalid_target",
	"access_denied", "interaction_required", "consent_required",
}

// TokenError is a token endpoint's refusal (RFC 6749 §5.2), with the
// fields Microsoft Entra adds. Its Error text never includes the request
// form or headers.
type TokenError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the OAuth "error" value, e.g. "invalid_client"; empty when
	// the body was not an OAuth error.
	Code string
	// Description is "error_description", as sent.
	Description string
	// ErrorCodes are Entra's AADSTS numbers ("error_codes").
	ErrorCodes []int
	// SubError is Entra's "suberror", e.g. "basic_action".
	SubError string
	// Claims is a claims challenge the server asked to be sent back.
	Claims string
	// CorrelationID and TraceID identify the request in Entra's logs.
	CorrelationID string
	TraceID       string
	// RetryAfter is the server's Retry-After hint, 0 when absent.
	RetryAfter time.Duration
}

func newTokenError(se *oauth.StatusError) *TokenError {
	e := &TokenError{StatusCode: se.StatusCode, RetryAfter: se.RetryAfter, CorrelationID: se.RequestID}
	if o := se.OAuth; o != nil {
		e.Code = o.Code
		e.Description = o.Description
		e.ErrorCodes = o.ErrorCodes
		e.SubError = o.SubError
		e.Claims = o.Claims
		e.TraceID = o.TraceID
		if o.CorrelationID != "" {
			e.CorrelationID = o.CorrelationID
		}
	}
	return e
}

// maxDescription bounds the description quoted in Error.
const maxDescription = 300

// Error returns "credentials: token request failed: STATUS CODE
// (AADSTSn): first line of the description [trace_id=… correlation_id=…]".
func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("credentials: token request failed: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if len(e.ErrorCodes) > 0 {
		b.WriteString(" (")
		for i, c := range e.ErrorCodes {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("AADSTS")
			b.WriteString(strconv.Itoa(c))
		}
		b.WriteString(")")
	}
	if d := summary(e.Description); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	if e.TraceID != "" || e.CorrelationID != "" {
		fmt.Fprintf(&b, " [trace_id=%s correlation_id=%s]", e.TraceID, e.CorrelationID)
	}
	return b.String()
}

// summary is the first line of an Entra description without its
// "AADSTSn: " prefix, cut to maxDescription bytes.
func summary(d string) string {
	if i := strings.IndexAny(d, "\r\n"); i >= 0 {
		d = d[:i]
	}
	if strings.HasPrefix(d, "AADSTS") {
		if i := strings.Index(d, ": "); i > 0 && i < 16 {
			d = d[i+2:]
		}
	}
	d = strings.TrimSpace(d)
	if len(d) > maxDescription {
		d = d[:maxDescription] + "…"
	}
	return d
}

// Retryable reports whether the same request may succeed later: 408, 429
// and 5xx answers, except for the OAuth codes no retry can fix and for
// policy and block refusals.
func (e *TokenError) Retryable() bool {
	if slices.Contains(permanentCodes, e.Code) || e.policyDenied() || e.blocked() {
		return false
	}
	switch {
	case e.StatusCode == 408, e.StatusCode == 429, e.StatusCode >= 500 && e.StatusCode <= 599:
		return true
	case e.Code == "temporarily_unavailable", e.Code == "server_error":
		return true
	}
	return false
}

// Is makes errors.Is(err, ErrPolicyDenied) and errors.Is(err,
// ErrAgentBlocked) match the refusals they name.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrPolicyDenied:
		return e.policyDenied()
	case ErrAgentBlocked:
		return e.blocked()
	}
	return false
}

func (e *TokenError) policyDenied() bool {
	if e.Code == "access_denied" {
		return true
	}
	for _, c := range e.ErrorCodes {
		if slices.Contains(policyCodes, c) {
			return true
		}
	}
	return false
}

func (e *TokenError) blocked() bool {
	for _, c := range e.ErrorCodes {
		if slices.Contains(blockedCodes, c) {
			return true
		}
	}
	return false
}

// transientError marks a failure to reach the token endpoint as
// retryable.
type transientError struct{ err error }

func (e *transientError) Error() string   { return "credentials: " + e.err.Error() }
func (e *transientError) Unwrap() error   { return e.err }
func (e *transientError) Retryable() bool { return true }

// attemptError carries one attempt's error through the retry policy,
// exposing the Retry-After hint of a [TokenError] under the method name
// the policy reads. It is removed again before an error is returned.
type attemptError struct{ err error }

func (e *attemptError) Error() string   { return e.err.Error() }
func (e *attemptError) Unwrap() error   { return e.err }
func (e *attemptError) Retryable() bool { return retry.Retryable(e.err) }
func (e *attemptError) RetryAfter() time.Duration {
	var te *TokenError
	if errors.As(e.err, &te) {
		return te.RetryAfter
	}
	return 0
}

// unwrapAttempt strips attemptError from the top of err.
func unwrapAttempt(err error) error {
	if ae, ok := err.(*attemptError); ok {
		return ae.err
	}
	return err
}
