package credentials_test

import (
	"errors"
	"testing"

	"github.com/agentpassport/passport/credentials"
)

func TestTokenErrorClassification(t *testing.T) {
	tests := []struct {
		name      string
		err       credentials.TokenError
		retryable bool
		policy    bool
		blocked   bool
	}{
		{"500", credentials.TokenError{StatusCode: 500}, true, false, false},
		{"503", credentials.TokenError{StatusCode: 503, Code: "temporarily_unavailable"}, true, false, false},
		{"429", credentials.TokenError{StatusCode: 429}, true, false, false},
		{"408", credentials.TokenError{StatusCode: 408}, true, false, false},
		{"400 server_error", credentials.TokenError{StatusCode: 400, Code: "server_error"}, true, false, false},
		{"400", credentials.TokenError{StatusCode: 400, Code: "invalid_request"}, false, false, false},
		{"500 invalid_client", credentials.TokenError{StatusCode: 500, Code: "invalid_client"}, false, false, false},
		{"503 invalid_grant", credentials.TokenError{StatusCode: 503, Code: "invalid_grant"}, false, false, false},
		{"CA block", credentials.TokenError{StatusCode: 400, Code: "invalid_grant", ErrorCodes: []int{53003}}, false, true, false},
		{"risk block on 500", credentials.TokenError{StatusCode: 500, ErrorCodes: []int{53004}}, false, true, false},
		{"disabled app", credentials.TokenError{StatusCode: 400, ErrorCodes: []int{7000112}}, false, false, true},
		{"access_denied", credentials.TokenError{StatusCode: 403, Code: "access_denied"}, false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := error(&tt.err)
			if got := tt.err.Retryable(); got != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", got, tt.retryable)
			}
			if got := errors.Is(err, credentials.ErrPolicyDenied); got != tt.policy {
				t.Errorf("errors.Is(ErrPolicyDenied) = %v, want %v", got, tt.policy)
			}
			if got := errors.Is(err, credentials.ErrAgentBlocked); got != tt.blocked {
				t.Errorf("errors.Is(ErrAgentBlocked) = %v, want %v", got, tt.blocked)
			}
		})
	}
}

func TestTokenErrorMessage(t *testing.T) {
	e := &credentials.TokenError{
		StatusCode:    401,
		Code:          "invalid_client",
		Description:   "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: t-1\r\nCorrelation ID: c-1\r\nTimestamp: 2026-11-25 20:00:00Z",
		ErrorCodes:    []int{7000215},
		TraceID:       "t-1",
		CorrelationID: "c-1",
	}
	want := "credentials: token request failed: 401 invalid_client (AADSTS7000215): Invalid client secret provided. Ensure the secret being sent in the request is the client secret value. [trace_id=t-1 correlation_id=c-1]"
	if got := e.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}
