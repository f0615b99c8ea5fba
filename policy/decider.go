package policy

import (
	"context"
	"slices"
	"strings"
)

// Decider decides whether a request may go ahead. [Engine] is the
// Decider of this package; the enforcement helpers ([Guard],
// [Middleware], [TokenHook]) take any.
//
// Decide returns a decision, or an error when it cannot decide; callers
// treat an error as a denial. Cedar's rules hold: the request is denied
// unless a permit applies and no forbid does, and a policy that fails to
// evaluate never allows. Implementations must be safe for concurrent
// use; the decision returned belongs to the caller.
type Decider interface {
	Decide(ctx context.Context, req Request) (Decision, error)
}

// DeciderFunc adapts a function to [Decider], for tests and for
// composing deciders.
type DeciderFunc func(ctx context.Context, req Request) (Decision, error)

// Decide calls f.
func (f DeciderFunc) Decide(ctx context.Context, req Request) (Decision, error) { return f(ctx, req) }

// All returns a Decider that asks every one of ds, in order, and lets a
// request go ahead only if each allows it. Use it to run an enforced
// policy set next to report-only ones, as Conditional Access runs
// policies that are on next to policies in report-only mode.
//
// The combined decision allows if every decision allows, and would deny
// if any would. When it denies, its reasons are those of the decisions
// that deny and its mode is [Enforce]; when it allows but some
// report-only decision would deny, its reasons are those of the
// decisions that would deny and its mode is [ReportOnly]; otherwise its
// reasons are the permits of the enforced decisions (of all, if every
// decider is report-only). Errors are gathered from all. If a decider
// fails, All fails with its error. Each engine counts, in its own
// session counters, the calls it allowed.
//
// Each policy set is decided on its own, with Cedar's default deny: a
// set that only restricts (forbid policies) needs a permit of
// everything, `permit (principal, action, resource);`, to deny only what
// its forbids say.
func All(ds ...Decider) Decider {
	ds = slices.Clone(ds)
	return DeciderFunc(func(ctx context.Context, req Request) (Decision, error) {
		out := Decision{Allow: true}
		all := make([]Decision, 0, len(ds))
		reportOnly := len(ds) > 0
		for _, d := range ds {
			dec, err := d.Decide(ctx, req)
			if err != nil {
				return Decision{}, err
			}
			dec.WouldDeny = dec.WouldDeny || !dec.Allow
			all = append(all, dec)
			out.Allow = out.Allow && dec.Allow
			out.WouldDeny = out.WouldDeny || dec.WouldDeny
			out.Errors = append(out.Errors, dec.Errors...)
			reportOnly = reportOnly && dec.Mode == ReportOnly
		}
		switch {
		case !out.Allow:
			out.Mode = Enforce
		case out.WouldDeny || reportOnly:
			out.Mode = ReportOnly
		}
		for _, dec := range all {
			var keep bool
			switch {
			case !out.Allow:
				keep = !dec.Allow // the denials
			case out.WouldDeny:
				keep = dec.WouldDeny // the report-only denials
			default:
				keep = dec.Mode == Enforce || reportOnly // the permits that decided
			}
			if keep {
				out.Reasons = append(out.Reasons, dec.Reasons...)
			}
		}
		slices.Sort(out.Reasons)
		out.Reasons = slices.Compact(out.Reasons)
		slices.SortFunc(out.Errors, func(a, b EvalError) int { return strings.Compare(a.PolicyID, b.PolicyID) })
		return out, nil
	})
}
