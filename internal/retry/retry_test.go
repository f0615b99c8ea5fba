package retry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/agentpassport/passport/internal/retry"
)

// testError is an operation failure that classifies itself.
type testError struct {
	attempt   int
	retryable bool
	after     time.Duration
}

func (e *testError) Error() string {
	return fmt.Sprintf("attempt %d failed (retryable %v, after %v)", e.attempt, e.retryable, e.after)
}
func (e *testError) Retryable() bool           { return e.retryable }
func (e *testError) RetryAfter() time.Duration { return e.after }

// fast keeps every wait at a few milliseconds.
var fast = retry.Policy{MaxAttempts: 5, MaxElapsed: 2 * time.Second, Initial: time.Millisecond, Max: 5 * time.Millisecond}

// script returns an operation that fails with fail(attempt) until that
// returns nil, and counts its attempts.
func script(attempts *int, fail func(attempt int) error) func(context.Context) error {
	return func(context.Context) error {
		*attempts++
		return fail(*attempts)
	}
}

func retryableUntil(n int) func(int) error {
	return func(attempt int) error {
		if attempt > n {
			return nil
		}
		return &testError{attempt: attempt, retryable: true}
	}
}

func TestDo(t *testing.T) {
	permanent := errors.New("invalid_client")
	tests := []struct {
		name         string
		policy       retry.Policy
		fail         func(attempt int) error
		wantAttempts int
		wantErr      func(error) bool // nil means no error is wanted
	}{
		{
			name:         "success at once",
			policy:       fast,
			fail:         retryableUntil(0),
			wantAttempts: 1,
		},
		{
			name:         "success after 3 retryable failures",
			policy:       fast,
			fail:         retryableUntil(3),
			wantAttempts: 4,
		},
		{
			name:         "success on the last allowed attempt",
			policy:       fast,
			fail:         retryableUntil(4),
			wantAttempts: 5,
		},
		{
			name:         "non-retryable stops after 1 attempt",
			policy:       fast,
			fail:         func(a int) error { return &testError{attempt: a, retryable: false} },
			wantAttempts: 1,
			wantErr:      isAttempt(1),
		},
		{
			name:         "error without Retryable stops after 1 attempt",
			policy:       fast,
			fail:         func(int) error { return permanent },
			wantAttempts: 1,
			wantErr:      func(err error) bool { return errors.Is(err, permanent) },
		},
		{
			name:   "retryable then non-retryable",
			policy: fast,
			fail: func(a int) error {
				return &testError{attempt: a, retryable: a < 2}
			},
			wantAttempts: 2,
			wantErr:      isAttempt(2),
		},
		{
			name:         "MaxAttempts bound",
			policy:       retry.Policy{MaxAttempts: 3, MaxElapsed: 2 * time.Second, Initial: time.Millisecond, Max: time.Millisecond},
			fail:         retryableUntil(100),
			wantAttempts: 3,
			wantErr:      isAttempt(3),
		},
		{
			name:         "MaxAttempts 1 disables retries",
			policy:       retry.Policy{MaxAttempts: 1, Initial: time.Millisecond},
			fail:         retryableUntil(100),
			wantAttempts: 1,
			wantErr:      isAttempt(1),
		},
		{
			name:         "MaxAttempts default is 4",
			policy:       retry.Policy{Initial: time.Millisecond, Max: time.Millisecond},
			fail:         retryableUntil(100),
			wantAttempts: 4,
			wantErr:      isAttempt(4),
		},
		{
			name:         "context.Canceled from op not retried",
			policy:       fast,
			fail:         func(int) error { return context.Canceled },
			wantAttempts: 1,
			wantErr:      func(err error) bool { return errors.Is(err, context.Canceled) },
		},
		{
			name:         "wrapped context.DeadlineExceeded from op not retried",
			policy:       fast,
			fail:         func(int) error { return fmt.Errorf("post: %w", context.DeadlineExceeded) },
			wantAttempts: 1,
			wantErr:      func(err error) bool { return errors.Is(err, context.DeadlineExceeded) },
		},
		{
			name:   "retryable error wrapping a context error not retried",
			policy: fast,
			fail: func(a int) error {
				return fmt.Errorf("%w: %w", &testError{attempt: a, retryable: true}, context.DeadlineExceeded)
			},
			wantAttempts: 1,
			wantErr:      func(err error) bool { return errors.Is(err, context.DeadlineExceeded) && isAttempt(1)(err) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attempts, notified := 0, 0
			err := retry.Do(t.Context(), tt.policy, script(&attempts, tt.fail), func(err error, wait time.Duration) {
				notified++
				if !retry.Retryable(err) {
					t.Errorf("notify(%v, %v) called for a non-retryable error", err, wait)
				}
			})
			if attempts != tt.wantAttempts {
				t.Errorf("Do(...) made %d attempts, want %d", attempts, tt.wantAttempts)
			}
			if want := tt.wantAttempts - 1; notified != want {
				t.Errorf("Do(...) notified %d waits, want %d", notified, want)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Do(...) = %v, want nil", err)
			case tt.wantErr != nil && (err == nil || !tt.wantErr(err)):
				t.Errorf("Do(...) = %v, not the error wanted", err)
			}
		})
	}
}

// isAttempt returns a check that err wraps the *testError of attempt n.
func isAttempt(n int) func(error) bool {
	return func(err error) bool {
		var te *testError
		return errors.As(err, &te) && te.attempt == n
	}
}

func TestDoMaxElapsed(t *testing.T) {
	p := retry.Policy{MaxAttempts: 1000, MaxElapsed: 50 * time.Millisecond, Initial: 5 * time.Millisecond, Max: 5 * time.Millisecond}
	attempts := 0
	start := time.Now()
	err := retry.Do(t.Context(), p, script(&attempts, retryableUntil(1000)), nil)
	elapsed := time.Since(start)
	if !isAttempt(attempts)(err) {
		t.Errorf("Do(...) = %v, want the error of the last attempt (%d)", err, attempts)
	}
	if attempts < 2 || attempts >= 1000 {
		t.Errorf("Do(...) made %d attempts, want a few within 50ms", attempts)
	}
	if elapsed > time.Second {
		t.Errorf("Do(...) took %v, want about 50ms", elapsed)
	}
}

func TestDoRetryAfter(t *testing.T) {
	p := retry.Policy{MaxAttempts: 3, MaxElapsed: 5 * time.Second, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	attempts := 0
	op := script(&attempts, func(a int) error {
		if a == 1 {
			return &testError{attempt: a, retryable: true, after: time.Second}
		}
		return nil
	})
	var waits []time.Duration
	start := time.Now()
	err := retry.Do(t.Context(), p, op, func(_ error, wait time.Duration) { waits = append(waits, wait) })
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("Do(...) = %v, want nil", err)
	}
	if attempts != 2 {
		t.Errorf("Do(...) made %d attempts, want 2", attempts)
	}
	if len(waits) != 1 || waits[0] < time.Second {
		t.Errorf("Do(...) waits = %v, want one wait of at least 1s", waits)
	}
	if elapsed < time.Second {
		t.Errorf("Do(...) returned after %v, want at least 1s", elapsed)
	}
}

func TestDoRetryAfterBeyondMaxElapsed(t *testing.T) {
	p := retry.Policy{MaxAttempts: 5, MaxElapsed: time.Second, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	attempts := 0
	op := script(&attempts, func(a int) error {
		return &testError{attempt: a, retryable: true, after: 10 * time.Second}
	})
	start := time.Now()
	err := retry.Do(t.Context(), p, op, func(err error, wait time.Duration) {
		t.Errorf("notify(%v, %v) called, want no wait", err, wait)
	})
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Errorf("Do(...) returned after %v, want at once", elapsed)
	}
	if attempts != 1 {
		t.Errorf("Do(...) made %d attempts, want 1", attempts)
	}
	if !isAttempt(1)(err) {
		t.Errorf("Do(...) = %v, want the error of attempt 1", err)
	}
}

func TestDoContextEndsWait(t *testing.T) {
	p := retry.Policy{MaxAttempts: 5, MaxElapsed: 5 * time.Second, Initial: time.Millisecond, Max: 5 * time.Millisecond}
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		onWait  func(cancel context.CancelFunc)
		wantErr error
	}{
		{
			name: "cancelled while waiting",
			ctx:  context.WithCancel,
			onWait: func(cancel context.CancelFunc) {
				time.AfterFunc(20*time.Millisecond, cancel)
			},
			wantErr: context.Canceled,
		},
		{
			name: "deadline while waiting",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(parent, 50*time.Millisecond)
			},
			onWait:  func(context.CancelFunc) {},
			wantErr: context.DeadlineExceeded,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			attempts := 0
			op := script(&attempts, func(a int) error {
				return &testError{attempt: a, retryable: true, after: 2 * time.Second}
			})
			start := time.Now()
			err := retry.Do(ctx, p, op, func(_ error, wait time.Duration) {
				if wait < 2*time.Second {
					t.Errorf("notify(..., %v), want a wait of at least 2s", wait)
				}
				tt.onWait(cancel)
			})
			if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
				t.Errorf("Do(...) returned after %v, want well under the 2s wait", elapsed)
			}
			if attempts != 1 {
				t.Errorf("Do(...) made %d attempts, want 1", attempts)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Do(...) = %v, want %v", err, tt.wantErr)
			}
			if !isAttempt(1)(err) {
				t.Errorf("Do(...) = %v, want it to wrap the error of attempt 1", err)
			}
		})
	}
}

func TestDoContextAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	attempts := 0
	err := retry.Do(ctx, fast, script(&attempts, retryableUntil(0)), nil)
	if attempts != 0 {
		t.Errorf("Do(cancelled ctx, ...) made %d attempts, want 0", attempts)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Do(cancelled ctx, ...) = %v, want %v", err, context.Canceled)
	}
}

func TestDoContextCancelledByOp(t *testing.T) {
	tests := []struct {
		name string
		// fail cancels the context, then returns the attempt's error.
		fail        func(ctx context.Context, cancel context.CancelFunc, attempt int) error
		wantAttempt bool // whether the result wraps the *testError too
	}{
		{
			name: "op returns the context error",
			fail: func(ctx context.Context, cancel context.CancelFunc, _ int) error {
				cancel()
				return ctx.Err()
			},
		},
		{
			name: "op returns a retryable error after cancel",
			fail: func(_ context.Context, cancel context.CancelFunc, a int) error {
				cancel()
				return &testError{attempt: a, retryable: true}
			},
			wantAttempt: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			attempts := 0
			err := retry.Do(ctx, fast, func(ctx context.Context) error {
				attempts++
				return tt.fail(ctx, cancel, attempts)
			}, nil)
			if attempts != 1 {
				t.Errorf("Do(...) made %d attempts, want 1", attempts)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Do(...) = %v, want %v", err, context.Canceled)
			}
			if got := isAttempt(1)(err); got != tt.wantAttempt {
				t.Errorf("Do(...) = %v, wraps the error of attempt 1: %v, want %v", err, got, tt.wantAttempt)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	yes := &testError{retryable: true}
	no := &testError{retryable: false}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "plain error", err: errors.New("boom"), want: false},
		{name: "retryable", err: yes, want: true},
		{name: "not retryable", err: no, want: false},
		{name: "wrapped retryable", err: fmt.Errorf("token: %w", yes), want: true},
		{name: "twice wrapped retryable", err: fmt.Errorf("source: %w", fmt.Errorf("token: %w", yes)), want: true},
		{name: "wrapped not retryable", err: fmt.Errorf("token: %w", no), want: false},
		{name: "joined with retryable", err: errors.Join(errors.New("boom"), yes), want: true},
		{name: "retryable with context.Canceled", err: fmt.Errorf("%w: %w", yes, context.Canceled), want: false},
		{name: "retryable with context.DeadlineExceeded", err: errors.Join(yes, context.DeadlineExceeded), want: false},
		{name: "context.Canceled", err: context.Canceled, want: false},
		{name: "wrapped context.DeadlineExceeded", err: fmt.Errorf("post: %w", context.DeadlineExceeded), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retry.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestAfter(t *testing.T) {
	hint := &testError{retryable: true, after: 3 * time.Second}
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{name: "nil", err: nil, want: 0},
		{name: "plain error", err: errors.New("boom"), want: 0},
		{name: "hint", err: hint, want: 3 * time.Second},
		{name: "wrapped hint", err: fmt.Errorf("token: %w", hint), want: 3 * time.Second},
		{name: "twice wrapped hint", err: fmt.Errorf("source: %w", fmt.Errorf("token: %w", hint)), want: 3 * time.Second},
		{name: "joined hint", err: errors.Join(errors.New("boom"), hint), want: 3 * time.Second},
		{name: "no hint", err: &testError{retryable: true}, want: 0},
		{name: "negative hint", err: fmt.Errorf("token: %w", &testError{after: -time.Second}), want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retry.After(tt.err); got != tt.want {
				t.Errorf("After(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
