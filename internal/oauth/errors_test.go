package oauth_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/internal/oauth"
)

// entraErrorBody is an invalid_client answer of the Microsoft identity
// platform, as it sends it (the description keeps its CR LF).
const entraErrorBody = `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0b5f3c1e-8a2d-4f51-9d6e-2c4b7a9e1f00\r\nCorrelation ID: 6c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f\r\nTimestamp: 2026-01-02 03:04:05Z","error_codes":[7000215],"timestamp":"2026-01-02 03:04:05Z","trace_id":"0b5f3c1e-8a2d-4f51-9d6e-2c4b7a9e1f00","correlation_id":"6c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f","error_uri":"https://login.microsoftonline.com/error?code=7000215"}`

var entraError = &oauth.ErrorResponse{
	Code:          "invalid_client",
	Description:   "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.\r\nTrace ID: 0b5f3c1e-8a2d-4f51-9d6e-2c4b7a9e1f00\r\nCorrelation ID: 6c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f\r\nTimestamp: 2026-01-02 03:04:05Z",
	URI:           "https://login.microsoftonline.com/error?code=7000215",
	ErrorCodes:    []int{7000215},
	TraceID:       "0b5f3c1e-8a2d-4f51-9d6e-2c4b7a9e1f00",
	CorrelationID: "6c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f",
	Timestamp:     "2026-01-02 03:04:05Z",
}

func TestParseErrorResponse(t *testing.T) {
	codes20 := make([]string, 20)
	want16 := make([]int, 16)
	for i := range codes20 {
		codes20[i] = fmt.Sprint(50000 + i)
		if i < 16 {
			want16[i] = 50000 + i
		}
	}
	tests := []struct {
		name   string
		body   string
		want   *oauth.ErrorResponse
		wantOK bool
	}{
		{
			name:   "Entra invalid_client",
			body:   entraErrorBody,
			want:   entraError,
			wantOK: true,
		},
		{
			name: "Entra claims challenge",
			body: `{"error":"invalid_grant","error_description":"AADSTS50173: The provided grant has expired due to it being revoked.","error_codes":[50173,70000],"timestamp":"2026-01-02 03:04:05Z","trace_id":"t-1","correlation_id":"c-1","suberror":"bad_token","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1\"]}}}"}`,
			want: &oauth.ErrorResponse{
				Code:          "invalid_grant",
				Description:   "AADSTS50173: The provided grant has expired due to it being revoked.",
				ErrorCodes:    []int{50173, 70000},
				TraceID:       "t-1",
				CorrelationID: "c-1",
				Timestamp:     "2026-01-02 03:04:05Z",
				SubError:      "bad_token",
				Claims:        `{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}`,
			},
			wantOK: true,
		},
		{
			name: "plain RFC 6749",
			body: `{"error":"invalid_grant","error_description":"authorization code expired","error_uri":"https://as.example.com/errors/invalid_grant"}`,
			want: &oauth.ErrorResponse{
				Code:        "invalid_grant",
				Description: "authorization code expired",
				URI:         "https://as.example.com/errors/invalid_grant",
			},
			wantOK: true,
		},
		{
			name:   "code only with white space",
			body:   "\n  {\"error\":\"unauthorized_client\"}\n",
			want:   &oauth.ErrorResponse{Code: "unauthorized_client"},
			wantOK: true,
		},
		{
			name:   "error_codes as string ignored",
			body:   `{"error":"invalid_request","error_codes":"7000215","trace_id":"t-2"}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request", TraceID: "t-2"},
			wantOK: true,
		},
		{
			name:   "error_codes as object ignored",
			body:   `{"error":"invalid_request","error_codes":{"code":7000215},"trace_id":"t-2"}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request", TraceID: "t-2"},
			wantOK: true,
		},
		{
			name:   "error_codes with strings ignored",
			body:   `{"error":"invalid_request","error_codes":[7000215,"AADSTS"],"trace_id":"t-2"}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request", TraceID: "t-2"},
			wantOK: true,
		},
		{
			name:   "error_codes non-integers skipped",
			body:   `{"error":"invalid_request","error_codes":[1.5,7000215,1e3,99999999999999999999]}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request", ErrorCodes: []int{7000215}},
			wantOK: true,
		},
		{
			name:   "error_codes null",
			body:   `{"error":"invalid_request","error_codes":null}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request"},
			wantOK: true,
		},
		{
			name:   "error_codes capped at 16",
			body:   `{"error":"invalid_request","error_codes":[` + strings.Join(codes20, ",") + `]}`,
			want:   &oauth.ErrorResponse{Code: "invalid_request", ErrorCodes: want16},
			wantOK: true,
		},
		{name: "empty body"},
		{name: "white space body", body: " \r\n"},
		{name: "HTML body", body: `<html><head><title>502 Bad Gateway</title></head></html>`},
		{name: "plain text body", body: `error=invalid_grant`},
		{name: "JSON array", body: `[{"error":"invalid_grant"}]`},
		{name: "JSON string", body: `"invalid_grant"`},
		{name: "JSON without error", body: `{"error_description":"something failed","error_codes":[50000]}`},
		{name: "empty error", body: `{"error":"","error_description":"something failed"}`},
		{name: "null error", body: `{"error":null}`},
		{name: "error as number", body: `{"error":400,"error_description":"bad request"}`},
		{name: "error as object", body: `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`},
		{name: "invalid JSON", body: `{"error":"invalid_grant",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := oauth.ParseErrorResponse([]byte(tt.body))
			if ok != tt.wantOK {
				t.Fatalf("ParseErrorResponse(%s) ok = %v, want %v", tt.body, ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseErrorResponse(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

// TestParseErrorResponseWrongTypedMember checks that a member of the
// wrong type does not hide the error code. It checks the code only: the
// other members are currently dropped along with the bad one.
func TestParseErrorResponseWrongTypedMember(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{name: "trace_id as number", body: `{"error":"invalid_grant","error_description":"expired","trace_id":5}`},
		{name: "description as object", body: `{"error_description":{"text":"expired"},"error":"invalid_grant"}`},
		{name: "claims as object", body: `{"error":"invalid_grant","claims":{"access_token":{}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := oauth.ParseErrorResponse([]byte(tt.body))
			if !ok {
				t.Fatalf("ParseErrorResponse(%s) ok = false, want true", tt.body)
			}
			if got.Code != "invalid_grant" {
				t.Errorf("ParseErrorResponse(%s).Code = %q, want %q", tt.body, got.Code, "invalid_grant")
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		name string
		v    string
		want time.Duration
	}{
		{name: "empty", v: "", want: 0},
		{name: "seconds", v: "120", want: 120 * time.Second},
		{name: "one second", v: "1", want: time.Second},
		{name: "zero", v: "0", want: 0},
		{name: "leading zeros", v: "007", want: 7 * time.Second},
		{name: "negative", v: "-5", want: 0},
		{name: "one hour", v: "3600", want: time.Hour},
		{name: "just over one hour capped", v: "3601", want: time.Hour},
		{name: "one day capped", v: "86400", want: time.Hour},
		{name: "int64 max capped", v: "9223372036854775807", want: time.Hour},
		{name: "past int64 capped", v: "99999999999999999999999", want: time.Hour},
		{name: "past negative int64", v: "-99999999999999999999999", want: 0},
		{name: "date in the future", v: date(90 * time.Second), want: 90 * time.Second},
		{name: "date two hours ahead capped", v: date(2 * time.Hour), want: time.Hour},
		{name: "date far ahead capped", v: "Fri, 31 Dec 9999 23:59:59 GMT", want: time.Hour},
		{name: "date now", v: date(0), want: 0},
		{name: "date in the past", v: date(-time.Minute), want: 0},
		{name: "date long ago", v: "Sun, 06 Nov 1994 08:49:37 GMT", want: 0},
		{name: "word", v: "soon", want: 0},
		{name: "fraction", v: "1.5", want: 0},
		{name: "unit suffix", v: "120s", want: 0},
		{name: "date without zone", v: "Fri, 02 Jan 2026 03:05:35", want: 0},
		{name: "garbage bytes", v: "\x00\xff\"", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := oauth.ParseRetryAfter(tt.v, now); got != tt.want {
				t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v", tt.v, now, got, tt.want)
			}
		})
	}
}
