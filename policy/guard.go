package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
)

// Arguments is implemented by tool argument types that give their
// policy arguments themselves, sparing [Guard] a JSON round trip.
type Arguments interface {
	// PolicyArgs returns the arguments by name.
	PolicyArgs() map[string]any
}

// GuardOption configures [Guard].
type GuardOption interface{ applyGuard(*guardConfig) }

type guardConfig struct {
	subject *Subject
}

type guardOptionFunc func(*guardConfig)

func (f guardOptionFunc) applyGuard(c *guardConfig) { f(c) }

// WithDefaultSubject sets the subject a guarded call is decided for when
// its context carries none ([NewContext]). By default such a call fails
// with [ErrInvalidRequest].
func WithDefaultSubject(s Subject) GuardOption {
	return guardOptionFunc(func(c *guardConfig) { c.subject = &s })
}

// Guard returns fn guarded by d. Each call first asks d whether the
// subject in its context ([SubjectFromContext], else
// [WithDefaultSubject]) may invoke_tool on tool, with the call's
// arguments as context.args; only then is fn called. A denied call
// returns the zero R and a [*DeniedError] (matching [ErrDenied]) and fn
// is not called. A call d cannot decide fails with d's error: the guard
// fails closed. In [ReportOnly] mode every call goes ahead.
//
// The arguments are args itself when it is a map[string]any, its
// PolicyArgs when it implements [Arguments], and otherwise the fields of
// its JSON encoding (numbers as json.Number). A tool's Type, if empty,
// is [TypeTool]. The guarded function is safe for concurrent use if fn
// is.
//
//	refund := policy.Guard(engine, policy.Tool("refund"), refundFunc)
//	receipt, err := refund(ctx, RefundArgs{Order: "o-1", Amount: 120})
func Guard[A, R any](d Decider, tool Resource, fn func(context.Context, A) (R, error), opts ...GuardOption) func(context.Context, A) (R, error) {
	var cfg guardConfig
	for _, o := range opts {
		if o != nil {
			o.applyGuard(&cfg)
		}
	}
	if tool.Type == "" {
		tool.Type = TypeTool
	}
	return func(ctx context.Context, args A) (R, error) {
		var zero R
		s, ok := SubjectFromContext(ctx)
		if !ok {
			if cfg.subject == nil {
				return zero, fmt.Errorf("%w: no subject in the context of a call to %s", ErrInvalidRequest, tool)
			}
			s = *cfg.subject
		}
		m, err := argsOf(args)
		if err != nil {
			return zero, fmt.Errorf("%w: arguments of %s: %w", ErrInvalidRequest, tool, err)
		}
		req := Request{Subject: s, Action: InvokeTool, Resource: tool, Args: m}
		dec, err := d.Decide(ctx, req)
		if err != nil {
			return zero, err
		}
		if !dec.Allow {
			return zero, &DeniedError{Action: InvokeTool, Resource: tool, Decision: dec}
		}
		return fn(ctx, args)
	}
}

// argsOf returns the policy arguments of a.
func argsOf(a any) (map[string]any, error) {
	switch v := a.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return v, nil
	case Arguments:
		return v.PolicyArgs(), nil
	case json.RawMessage:
		return decodeArgs(v)
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return decodeArgs(b)
}

// decodeArgs decodes a JSON object; anything else has no arguments.
func decodeArgs(b []byte) (map[string]any, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
