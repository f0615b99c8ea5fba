package oauth_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/internal/oauth"
)

// caeClaims is the base64 claims value of a Continuous Access Evaluation
// challenge; its '=' padding sits inside the quotes.
const caeClaims = "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwgInZhbHVlIjoiMTcwMjY4MjE4MSJ9fX0="

func TestParseChallenges(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   []oauth.Challenge
	}{
		{
			name:   "RFC 6750 invalid_token",
			header: `Bearer error="invalid_token", error_description="expired"`,
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"error": "invalid_token", "error_description": "expired"},
			}},
		},
		{
			name:   "CAE claims challenge",
			header: `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + caeClaims + `"`,
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{
					"realm":             "",
					"authorization_uri": "https://login.microsoftonline.com/common/oauth2/authorize",
					"error":             "insufficient_claims",
					"claims":            caeClaims,
				},
			}},
		},
		{
			name:   "two challenges",
			header: `Basic realm="x", Bearer error="invalid_token"`,
			want: []oauth.Challenge{
				{Scheme: "Basic", Params: map[string]string{"realm": "x"}},
				{Scheme: "Bearer", Params: map[string]string{"error": "invalid_token"}},
			},
		},
		{
			name:   "token68",
			header: `Negotiate abc==`,
			want:   []oauth.Challenge{{Scheme: "Negotiate", Token68: "abc=="}},
		},
		{
			name:   "token68 without padding",
			header: `Negotiate abc`,
			want:   []oauth.Challenge{{Scheme: "Negotiate", Token68: "abc"}},
		},
		{
			name:   "token68 with slash and plus then a challenge",
			header: `Negotiate YIIBhwYG+/x==, Basic realm="corp"`,
			want: []oauth.Challenge{
				{Scheme: "Negotiate", Token68: "YIIBhwYG+/x=="},
				{Scheme: "Basic", Params: map[string]string{"realm": "corp"}},
			},
		},
		{
			name:   "scheme only",
			header: `Negotiate`,
			want:   []oauth.Challenge{{Scheme: "Negotiate"}},
		},
		{
			name:   "scheme only with trailing space",
			header: "Negotiate \t",
			want:   []oauth.Challenge{{Scheme: "Negotiate"}},
		},
		{
			name:   "two schemes only",
			header: `Negotiate, NTLM`,
			want:   []oauth.Challenge{{Scheme: "Negotiate"}, {Scheme: "NTLM"}},
		},
		{
			name:   "scheme only then params",
			header: `NTLM, Bearer realm="api"`,
			want: []oauth.Challenge{
				{Scheme: "NTLM"},
				{Scheme: "Bearer", Params: map[string]string{"realm": "api"}},
			},
		},
		{
			name:   "param names lower-cased, scheme kept",
			header: `bearer Realm="api", ERROR="invalid_token", Error_Description="Expired"`,
			want: []oauth.Challenge{{
				Scheme: "bearer",
				Params: map[string]string{"realm": "api", "error": "invalid_token", "error_description": "Expired"},
			}},
		},
		{
			name:   "escaped quotes and backslash",
			header: `Bearer error_description="the \"token\" is \\ bad"`,
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"error_description": `the "token" is \ bad`},
			}},
		},
		{
			name:   "duplicate params keep the first",
			header: `Bearer error="first", realm="r", Error="second"`,
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"error": "first", "realm": "r"},
			}},
		},
		{
			name:   "token values",
			header: `Bearer realm=api, error=invalid_token`,
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"realm": "api", "error": "invalid_token"},
			}},
		},
		{
			name:   "white space around equals",
			header: "Bearer realm = \"api\" ,\terror\t=\tinvalid_token",
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"realm": "api", "error": "invalid_token"},
			}},
		},
		{
			name:   "empty list elements",
			header: ` , Basic realm="x",, , Bearer error="e" ,`,
			want: []oauth.Challenge{
				{Scheme: "Basic", Params: map[string]string{"realm": "x"}},
				{Scheme: "Bearer", Params: map[string]string{"error": "e"}},
			},
		},
		{
			name:   "tab and UTF-8 inside quotes",
			header: "Bearer error_description=\"caf\u00e9\tclos\u00e9\"",
			want: []oauth.Challenge{{
				Scheme: "Bearer",
				Params: map[string]string{"error_description": "caf\u00e9\tclos\u00e9"},
			}},
		},
		{
			name:   "empty header",
			header: "",
			want:   nil,
		},
		{
			name:   "separators only",
			header: " , ,\t",
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauth.ParseChallenges(tt.header)
			if err != nil {
				t.Fatalf("ParseChallenges(%q) = %v, want no error", tt.header, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseChallenges(%q) mismatch (-want +got):\n%s", tt.header, diff)
			}
		})
	}
}

func TestParseChallengesErrors(t *testing.T) {
	tests := []struct {
		name       string
		header     string
		wantOffset int
	}{
		{name: "unterminated quote", header: `Bearer error="invalid_token`, wantOffset: 27},
		{name: "unterminated quote after a param", header: `Bearer realm="x", error="invalid`, wantOffset: 32},
		{name: "unterminated quoted-pair", header: `Bearer error="abc\`, wantOffset: 17},
		{name: "missing scheme", header: `="x"`, wantOffset: 0},
		{name: "missing scheme after a challenge", header: `Bearer error="x", ="y"`, wantOffset: 18},
		{name: "no space after scheme", header: `Bearer"x"`, wantOffset: 6},
		{name: "missing comma between params", header: `Bearer a="b" c="d"`, wantOffset: 13},
		{name: "missing value", header: `Bearer error=@`, wantOffset: 13},
		{name: "control char in quotes", header: "Bearer error=\"a\x01b\"", wantOffset: 15},
		{name: "escaped control char in quotes", header: "Bearer error=\"a\\\x1fb\"", wantOffset: 16},
		{name: "escaped newline in quotes", header: "Bearer error=\"a\\\nb\"", wantOffset: 16},
		{name: "DEL in quotes", header: "Bearer error=\"a\x7f\"", wantOffset: 15},
		{name: "newline in quotes", header: "Bearer error=\"a\nb\"", wantOffset: 15},
		{name: "control char after scheme", header: "Bearer\x00", wantOffset: 6},
		{name: "control char as params", header: "Bearer \x01", wantOffset: 7},
		{name: "text after token68", header: "Negotiate abc== x", wantOffset: 16},
		{name: "control char after token68", header: "Negotiate ab\x00", wantOffset: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauth.ParseChallenges(tt.header)
			if err == nil {
				t.Fatalf("ParseChallenges(%q) = %+v, want an error", tt.header, got)
			}
			if got != nil {
				t.Errorf("ParseChallenges(%q) = %+v with error %v, want nil", tt.header, got, err)
			}
			if want := fmt.Sprintf("offset %d", tt.wantOffset); !strings.Contains(err.Error(), want) {
				t.Errorf("ParseChallenges(%q) error %q does not name %q", tt.header, err, want)
			}
		})
	}
}

func TestParseChallengesTooLong(t *testing.T) {
	h := `Bearer error_description="` + strings.Repeat("x", 16<<10) + `"`
	if got, err := oauth.ParseChallenges(h); err == nil {
		t.Errorf("ParseChallenges(<%d bytes>) = %d challenges, want an error", len(h), len(got))
	}
}
