// Package retry is the one retry policy of the module, built on
// github.com/cenkalti/backoff/v4.
//
// An operation is retried only when its error says so: it implements
// Retryable() bool and returns true (network failures, 408, 429 and 5xx
// responses, as the caller classifies them). Everything else, context
// cancellation included, ends the loop at once. A Retry-After hint
// (RetryAfter() time.Duration on the error) is honoured: the next wait is
// at least that long, and when the hint reaches past the elapsed-time
// bound the loop stops instead of sleeping past it. Every loop is bounded
// both in attempts and in elapsed time.
package retry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Policy bounds a retry loop. The zero value of a field takes the default
// given in its comment.
type Policy struct {
	// MaxAttempts is the total number of attempts, the first included.
	// Default 4. A value of 1 disables retries.
	MaxAttempts int
	// MaxElapsed bounds the time from the first attempt to the start of
	// the last one. Default 30 s.
	MaxElapsed time.Duration
	// Initial is the first wait. Default 250 ms.
	Initial time.Duration
	// Max caps a single wait (not a Retry-After hint). Default 5 s.
	Max time.Duration
}

const (
	defaultAttempts = 4
	defaultElapsed  = 30 * time.Second
	defaultInitial  = 250 * time.Millisecond
	defaultMax      = 5 * time.Second
)

func (p Policy) withDefaults() Policy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = defaultAttempts
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = defaultElapsed
	}
	if p.Initial <= 0 {
		p.Initial = defaultInitial
	}
	if p.Max <= 0 {
		p.Max = defaultMax
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	return p
}

// Retryable reports whether err asks to be retried: some error in its
// chain has a Retryable() bool method that returns true, and the chain
// holds no context error.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// After returns the Retry-After hint carried by err, or 0.
func After(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return max(r.RetryAfter(), 0)
	}
	return 0
}

// Do runs op until it succeeds, returns an error that is not
// [Retryable], the policy's bounds are reached, or ctx is done. It
// returns nil or the last error; when ctx ends the loop the result
// wraps both ctx.Err() and the last error. notify, if not nil, is called
// before each wait with the error and the wait.
func Do(ctx context.Context, p Policy, op func(context.Context) error, notify func(err error, wait time.Duration)) error {
	p = p.withDefaults()
	if err := ctx.Err(); err != nil {
		return err
	}
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.Initial),
		backoff.WithMaxInterval(p.Max),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
	)
	h := &hinted{inner: exp, budget: p.MaxElapsed}
	b := backoff.WithContext(backoff.WithMaxRetries(h, uint64(p.MaxAttempts-1)), ctx)
	var last error
	err := backoff.RetryNotify(func() error {
		err := op(ctx)
		if err == nil {
			return nil
		}
		last = err
		if !Retryable(err) {
			return backoff.Permanent(err)
		}
		h.hint = After(err)
		return err
	}, b, notify)
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(last, ctx.Err()) {
		return fmt.Errorf("%w (last attempt: %w)", ctx.Err(), last)
	}
	return err
}

// hinted raises the next wait of inner to a server's Retry-After hint,
// and stops instead of waiting past the elapsed-time budget.
type hinted struct {
	inner  *backoff.ExponentialBackOff
	budget time.Duration
	start  time.Time
	hint   time.Duration // set by the operation before NextBackOff
}

func (h *hinted) Reset() {
	h.inner.Reset()
	h.start = time.Now()
	h.hint = 0
}

func (h *hinted) NextBackOff() time.Duration {
	next := h.inner.NextBackOff()
	hint := h.hint
	h.hint = 0
	if next == backoff.Stop {
		return backoff.Stop
	}
	if hint > next {
		if time.Since(h.start)+hint > h.budget {
			return backoff.Stop
		}
		next = hint
	}
	return next
}
