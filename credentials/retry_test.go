package credentials_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func TestRetryAfterIsHonoured(t *testing.T) {
	a, c := newSecretClient(t, nil)
	a.ThrottleNext(1, time.Second)
	start := time.Now()
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() after a 429 = %v, want success", err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("Token() retried after %v, want at least the Retry-After of 1s", waited)
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
}

func TestRetryTransientFailures(t *testing.T) {
	a, c := newSecretClient(t, nil)
	a.FailNext(2, 503, agentidtest.OAuthError{Code: "temporarily_unavailable", Description: "busy"})
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatalf("Token() after two 503s = %v, want success", err)
	}
	if got := a.Requests(grantCC); got != 3 {
		t.Errorf("token requests = %d, want 3", got)
	}
}

func TestRetryBoundedAttempts(t *testing.T) {
	a, c := newSecretClient(t, nil, credentials.WithRetry(3, 10*time.Second))
	a.FailNext(100, 500, agentidtest.OAuthError{Code: "server_error"})
	_, err := c.Token(context.Background(), ordersRead)
	var te *credentials.TokenError
	if !errors.As(err, &te) || te.StatusCode != 500 || !te.Retryable() {
		t.Errorf("Token() = %v, want a retryable *TokenError with status 500", err)
	}
	if got := a.Requests(grantCC); got != 3 {
		t.Errorf("token requests = %d, want 3 (WithRetry(3, …))", got)
	}
}

func TestNeverRetried(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		oauthErr agentidtest.OAuthError
		is       error
	}{
		{"invalid_client", 401, agentidtest.OAuthError{Code: "invalid_client", Description: "AADSTS7000215: Invalid client secret provided.", ErrorCodes: []int{7000215}}, nil},
		{"invalid_grant", 400, agentidtest.OAuthError{Code: "invalid_grant"}, nil},
		{"unauthorized_client", 400, agentidtest.OAuthError{Code: "unauthorized_client"}, nil},
		{"invalid_scope", 400, agentidtest.OAuthError{Code: "invalid_scope", ErrorCodes: []int{1002012}}, nil},
		{"invalid_client on a 500", 500, agentidtest.OAuthError{Code: "invalid_client"}, nil},
		{"conditional access block", 400, agentidtest.OAuthError{Code: "invalid_grant", Description: "AADSTS53003: Access has been blocked by Conditional Access policies.", ErrorCodes: []int{53003}}, credentials.ErrPolicyDenied},
		{"application disabled", 400, agentidtest.OAuthError{Code: "unauthorized_client", Description: "AADSTS7000112: Application is disabled.", ErrorCodes: []int{7000112}}, credentials.ErrAgentBlocked},
		{"access_denied", 403, agentidtest.OAuthError{Code: "access_denied"}, credentials.ErrPolicyDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := newSecretClient(t, nil)
			a.FailNext(1, tt.status, tt.oauthErr)
			_, err := c.Token(context.Background(), ordersRead)
			var te *credentials.TokenError
			if !errors.As(err, &te) {
				t.Fatalf("Token() error = %v, want a *TokenError", err)
			}
			if te.Code != tt.oauthErr.Code || te.StatusCode != tt.status || te.Retryable() {
				t.Errorf("TokenError = {%d %s retryable=%v}, want {%d %s retryable=false}", te.StatusCode, te.Code, te.Retryable(), tt.status, tt.oauthErr.Code)
			}
			if te.TraceID == "" || te.CorrelationID == "" {
				t.Errorf("TokenError lacks Entra's trace_id/correlation_id: %+v", te)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.is)
			}
			if got := a.Requests(grantCC); got != 1 {
				t.Errorf("token requests = %d, want exactly 1", got)
			}
		})
	}
}

func TestWrongSecretFailsAfterOneRequest(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	c, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(t, "wrong")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Token(context.Background(), ordersRead)
	var te *credentials.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client" {
		t.Fatalf("Token() with a wrong secret = %v, want invalid_client", err)
	}
	if got := a.Requests(grantCC); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestContextCancellationStopsWaitingAtOnce(t *testing.T) {
	a, c := newSecretClient(t, nil)
	a.ThrottleNext(1, 10*time.Second) // within the default 30 s retry budget
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Token(ctx, ordersRead)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Token() = %v, want context.Canceled", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("Token() returned %v after the cancellation, want at once", waited)
	}
}
