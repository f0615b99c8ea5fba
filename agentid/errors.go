package agentid

import (
	"errors"
	"fmt"
	"strconv"
)

// Check names one check of [Verifier.Verify]. A [*VerifyError] says which
// check a token failed.
type Check int

// The checks of [Verifier.Verify], in the order they run.
const (
	// CheckSize: the token is longer than the maximum size
	// ([WithMaxTokenSize]).
	CheckSize Check = iota + 1
	// CheckMalformed: the token is not a compact JWS of three strict
	// base64url segments, or its header or claims are not valid JSON of
	// the expected types.
	CheckMalformed
	// CheckAlgorithm: the header alg is missing, not in the allowlist
	// ([WithAlgorithms]) or not the algorithm of the key named by kid.
	CheckAlgorithm
	// CheckHeader: the header asks for something the verifier does not
	// do: a crit list, an unencoded payload (b64), a nested token
	// (cty "JWT") or a token type that is not an access token.
	CheckHeader
	// CheckKey: no key of the issuer has the header's kid, even after a
	// (rate-limited) refresh of the issuer's JWKS.
	CheckKey
	// CheckSignature: the signature does not verify with the issuer's key.
	CheckSignature
	// CheckRequiredClaim: a required claim (exp, iss, aud unless the
	// audience check is off, and those of [WithRequiredClaims]) is missing.
	CheckRequiredClaim
	// CheckIssuer: iss is not the verifier's issuer.
	CheckIssuer
	// CheckAudience: no value of aud is one of the verifier's audiences.
	CheckAudience
	// CheckExpiry: exp is past, beyond the leeway.
	CheckExpiry
	// CheckNotBefore: nbf is in the future, beyond the leeway.
	CheckNotBefore
	// CheckIssuedAt: iat is in the future, beyond the leeway.
	CheckIssuedAt
)

var checkNames = [...]string{
	CheckSize:          "size",
	CheckMalformed:     "malformed",
	CheckAlgorithm:     "algorithm",
	CheckHeader:        "header",
	CheckKey:           "key",
	CheckSignature:     "signature",
	CheckRequiredClaim: "required_claim",
	CheckIssuer:        "issuer",
	CheckAudience:      "audience",
	CheckExpiry:        "expiry",
	CheckNotBefore:     "not_before",
	CheckIssuedAt:      "issued_at",
}

// String returns the check's lower-case name, such as "signature".
func (c Check) String() string {
	if c > 0 && int(c) < len(checkNames) {
		return checkNames[c]
	}
	return "agentid.Check(" + strconv.Itoa(int(c)) + ")"
}

// Sentinel errors. Every error of [Verifier.Verify] that rejects a token is
// a [*VerifyError] wrapping one of these; branch on them with [errors.Is],
// or on [VerifyError.Check] with [errors.As]. The message text of any
// error of this package is not contractual, and never contains the token.
var (
	// ErrTokenTooLarge: the token is longer than the maximum size.
	ErrTokenTooLarge = errors.New("agentid: token too large")
	// ErrMalformedToken: the token, its header or its claims are malformed.
	ErrMalformedToken = errors.New("agentid: malformed token")
	// ErrAlgorithm: the header alg is missing, not allowed, or not the
	// algorithm of the key.
	ErrAlgorithm = errors.New("agentid: signing algorithm not accepted")
	// ErrUnsupportedHeader: the header carries crit, b64, cty "JWT" or a
	// typ that is not an access token's.
	ErrUnsupportedHeader = errors.New("agentid: unsupported token header")
	// ErrUnknownKey: no key of the issuer has the token's kid.
	ErrUnknownKey = errors.New("agentid: unknown signing key")
	// ErrInvalidSignature: the signature does not verify.
	ErrInvalidSignature = errors.New("agentid: invalid token signature")
	// ErrMissingClaim: a required claim is missing or empty.
	ErrMissingClaim = errors.New("agentid: required claim missing")
	// ErrWrongIssuer: iss is not the expected issuer.
	ErrWrongIssuer = errors.New("agentid: wrong token issuer")
	// ErrWrongAudience: the token is not meant for this resource.
	ErrWrongAudience = errors.New("agentid: wrong token audience")
	// ErrTokenExpired: exp is past.
	ErrTokenExpired = errors.New("agentid: token expired")
	// ErrTokenNotYetValid: nbf is in the future.
	ErrTokenNotYetValid = errors.New("agentid: token not yet valid")
	// ErrIssuedInFuture: iat is in the future.
	ErrIssuedInFuture = errors.New("agentid: token issued in the future")
	// ErrClosed is returned by [Verifier.Verify] after [Verifier.Close].
	// It is not a [*VerifyError]: the token was not judged.
	ErrClosed = errors.New("agentid: verifier is closed")
)

// VerifyError is the error of [Verifier.Verify] for a token it rejects.
// Check names the failed check; Err wraps the sentinel of that check
// (such as [ErrTokenExpired]) with details. Neither ever contains the
// token.
type VerifyError struct {
	// Check is the check the token failed.
	Check Check
	// Err is the cause; it wraps one of this package's sentinels.
	Err error
}

// Error returns the cause's message, such as "agentid: token expired
// (exp 2025-06-01T10:00:00Z, now 2025-06-01T10:05:00Z, leeway 1m0s)".
func (e *VerifyError) Error() string {
	if e.Err == nil {
		return "agentid: token failed the " + e.Check.String() + " check"
	}
	return e.Err.Error()
}

// Unwrap returns the cause.
func (e *VerifyError) Unwrap() error { return e.Err }

// reject returns a *VerifyError for check, whose cause wraps sentinel with
// the detail format and args. Callers pass no token material in args.
func reject(check Check, sentinel error, format string, args ...any) error {
	err := sentinel
	if format != "" {
		err = fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
	}
	return &VerifyError{Check: check, Err: err}
}

// maxQuoted bounds the length of an untrusted value quoted in an error.
const maxQuoted = 64

// quote quotes an untrusted header or claim value for an error message,
// truncated to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}
