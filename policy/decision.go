package policy

import (
	"strconv"
	"strings"
)

// Mode says whether the decisions of a policy set are enforced.
type Mode int

const (
	// Enforce is the default mode: a denied request is refused.
	Enforce Mode = iota
	// ReportOnly computes, reports and returns every decision, but never
	// refuses a request: [Decision.Allow] is always true and
	// [Decision.WouldDeny] says what enforcing would have done, as with
	// report-only Conditional Access policies.
	ReportOnly
)

// String returns "enforce" or "report_only".
func (m Mode) String() string {
	switch m {
	case Enforce:
		return "enforce"
	case ReportOnly:
		return "report_only"
	}
	return "policy.Mode(" + strconv.Itoa(int(m)) + ")"
}

// Decision is the answer to a [Request]. It is a value; the slices it
// holds are not shared with the engine.
//
// Cedar decides: the request is denied unless a permit policy is
// satisfied and no forbid policy is; a policy whose condition fails to
// evaluate (an overflow, a missing attribute) is skipped, so an error
// never allows.
type Decision struct {
	// Allow says whether the action may go on. In [ReportOnly] mode it is
	// always true.
	Allow bool
	// WouldDeny says whether the policies deny the request. In [Enforce]
	// mode it is !Allow; in [ReportOnly] mode it is what enforcing would
	// have done.
	WouldDeny bool
	// Reasons are the ids of the policies that determined the decision,
	// sorted: the satisfied forbid policies of a denial, or the satisfied
	// permit policies of an allowed request. A denial with no reason is
	// Cedar's default deny: no permit policy applies.
	Reasons []string
	// Errors are the policies that failed to evaluate, sorted by policy
	// id. They took no part in the decision.
	Errors []EvalError
	// Mode is the mode of the policy set that decided.
	Mode Mode
}

// String describes d in one line, e.g.
// `allow (report_only, would deny) by [tools.cedar:3]`.
func (d Decision) String() string {
	var b strings.Builder
	if d.Allow {
		b.WriteString("allow")
	} else {
		b.WriteString("deny")
	}
	if d.Mode == ReportOnly {
		b.WriteString(" (report_only")
		if d.WouldDeny {
			b.WriteString(", would deny")
		}
		b.WriteString(")")
	}
	switch {
	case len(d.Reasons) > 0:
		b.WriteString(" by [" + strings.Join(d.Reasons, " ") + "]")
	case d.WouldDeny:
		b.WriteString(" (no permit applies)")
	}
	for i, e := range d.Errors {
		if i == 0 {
			b.WriteString("; errors:")
		}
		b.WriteString(" " + e.PolicyID + ": " + e.Message)
	}
	return b.String()
}

// EvalError is a policy that failed to evaluate for one request.
type EvalError struct {
	// PolicyID is the policy's id.
	PolicyID string
	// File and Line locate the policy.
	File string
	Line int
	// Message is Cedar's description of the failure.
	Message string
}

// Error returns "policy: <id>: <message>".
func (e EvalError) Error() string { return "policy: " + e.PolicyID + ": " + e.Message }
