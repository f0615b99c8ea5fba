package policy

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sentinel errors. Branch on them with [errors.Is]; the message text of
// any error from this package is not contractual.
var (
	// ErrClosed is returned by [Engine.Decide] and [Engine.Reload] after
	// [Engine.Close].
	ErrClosed = errors.New("policy: engine is closed")
	// ErrDenied matches the error of an enforcement helper ([Guard],
	// [TokenHook]) whose request was denied; errors.As finds the
	// [*DeniedError] with the decision.
	ErrDenied = errors.New("policy: denied")
	// ErrInvalidRequest matches a [Request] that cannot be decided: no
	// agent id, an unknown action or resource type, an argument of the
	// wrong type, or no [Subject] where one is needed.
	ErrInvalidRequest = errors.New("policy: invalid request")
	// ErrInvalidBundle matches a signed bundle that is refused: not a
	// compact JWS, unsigned, signed with an algorithm other than RSA,
	// RSA-PSS, ECDSA or EdDSA, signed by a key not in the trusted set,
	// tampered with, or with a malformed payload.
	ErrInvalidBundle = errors.New("policy: invalid policy bundle")
	// ErrBundleExpired matches a signed bundle whose exp has passed.
	ErrBundleExpired = errors.New("policy: policy bundle expired")
)

// LoadError is a policy document that was refused: it does not parse,
// or a policy in it does not validate against the schema, or its id is
// taken. File, Line and Column locate the fault (for a validation error,
// the start of the policy); Line is at least 1.
type LoadError struct {
	// File is the name of the document (a file path, or the name given
	// to [FromString]).
	File string
	// Line and Column are 1-based.
	Line, Column int
	// PolicyID is the id of the policy at fault, when the document
	// parsed.
	PolicyID string
	// Reason says what is wrong.
	Reason string
}

// Error returns "policy: file:line:column: reason".
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("policy: ")
	b.WriteString(e.File)
	b.WriteString(":" + strconv.Itoa(e.Line) + ":" + strconv.Itoa(e.Column) + ": ")
	if e.PolicyID != "" {
		b.WriteString("policy " + strconv.Quote(e.PolicyID) + ": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// inputPos finds the position cedar-go's scanner and parser put in their
// messages ("<input>:3:14").
var inputPos = regexp.MustCompile(`<input>:(\d+):(\d+)`)

// parseError turns a cedar-go parse error into a LoadError.
func parseError(file string, err error) *LoadError {
	msg := err.Error()
	le := &LoadError{File: file, Line: 1, Column: 1}
	if m := inputPos.FindStringSubmatchIndex(msg); m != nil {
		le.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		le.Column, _ = strconv.Atoi(msg[m[4]:m[5]])
		msg = msg[m[1]:]
		msg = strings.TrimPrefix(msg, ":")
	}
	msg = strings.TrimSpace(strings.TrimPrefix(msg, "parser error:"))
	if msg == "" {
		msg = "syntax error"
	}
	le.Line, le.Column = max(le.Line, 1), max(le.Column, 1)
	le.Reason = "syntax error: " + msg
	return le
}

// DeniedError is the error of an enforcement helper whose request was
// denied. It matches [ErrDenied]. Its message names the action, the
// resource and the ids of the policies that denied it, never an argument
// value or a token.
type DeniedError struct {
	// Action and Resource are what was asked.
	Action   Action
	Resource Resource
	// Decision is the decision that denied it.
	Decision Decision
}

// Error describes the denial.
func (e *DeniedError) Error() string {
	s := fmt.Sprintf("policy: %s on %s denied", e.Action, e.Resource)
	if len(e.Decision.Reasons) > 0 {
		s += " by " + strings.Join(e.Decision.Reasons, ", ")
	} else {
		s += " (no policy permits it)"
	}
	return s
}

// Is reports whether target is [ErrDenied].
func (e *DeniedError) Is(target error) bool { return target == ErrDenied }
