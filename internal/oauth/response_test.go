package oauth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/internal/oauth"
)

// testAccessToken is the access token of the response bodies below. No
// error message may ever contain it.
const testAccessToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly90ZXN0In0.c2VjcmV0LXNpZ25hdHVyZQ"

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
		want *oauth.Response
	}{
		{
			name: "Entra v2",
			body: `{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":3599,"ext_expires_in":3599,"refresh_in":1799,"access_token":"` + testAccessToken + `"}`,
			want: &oauth.Response{
				AccessToken:  testAccessToken,
				TokenType:    "Bearer",
				ExpiresIn:    3599,
				ExtExpiresIn: 3599,
				RefreshIn:    1799,
				Scope:        "https://graph.microsoft.com/.default",
			},
		},
		{
			name: "Entra v1 string lifetimes",
			body: `{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1700003599","not_before":"1700000000","resource":"https://management.azure.com/","access_token":"` + testAccessToken + `"}`,
			want: &oauth.Response{
				AccessToken:  testAccessToken,
				TokenType:    "Bearer",
				ExpiresIn:    3599,
				ExtExpiresIn: 3599,
			},
		},
		{
			name: "all members with white space around the body",
			body: "\n\t " + `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3600,"refresh_token":"0.AAAA-refresh","scope":"openid profile offline_access","id_token":"eyJpZCI6MX0.e30.sig","client_info":"eyJ1aWQiOiIxIiwidXRpZCI6IjIifQ"}` + "\r\n",
			want: &oauth.Response{
				AccessToken:  testAccessToken,
				TokenType:    "Bearer",
				ExpiresIn:    3600,
				RefreshToken: "0.AAAA-refresh",
				Scope:        "openid profile offline_access",
				IDToken:      "eyJpZCI6MX0.e30.sig",
				ClientInfo:   "eyJ1aWQiOiIxIiwidXRpZCI6IjIifQ",
			},
		},
		{
			name: "lifetime with a zero fraction",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3600.0}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 3600},
		},
		{
			name: "lifetime with an exponent",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3.6e3}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 3600},
		},
		{
			name: "string lifetime with spaces",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":" 3599 "}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 3599},
		},
		{
			name: "lifetime of exactly ten years",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":315360000}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 315360000},
		},
		{
			name: "null and absent lifetimes",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":null}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer"},
		},
		{
			name: "lower-case bearer normalised",
			body: `{"access_token":"` + testAccessToken + `","token_type":"bearer","expires_in":60}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 60},
		},
		{
			name: "mixed-case bearer normalised",
			body: `{"access_token":"` + testAccessToken + `","token_type":"BeArEr"}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer"},
		},
		{
			name: "RFC 8693 N_A with issued_token_type",
			body: `{"access_token":"` + testAccessToken + `","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A","expires_in":60}`,
			want: &oauth.Response{
				AccessToken:     testAccessToken,
				TokenType:       "N_A",
				ExpiresIn:       60,
				IssuedTokenType: "urn:ietf:params:oauth:token-type:jwt",
			},
		},
		{
			name: "RFC 8693 Bearer with issued_token_type",
			body: `{"access_token":"` + testAccessToken + `","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}`,
			want: &oauth.Response{
				AccessToken:     testAccessToken,
				TokenType:       "Bearer",
				ExpiresIn:       60,
				IssuedTokenType: "urn:ietf:params:oauth:token-type:access_token",
			},
		},
		{
			name: "refresh_in past expires_in dropped",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3599,"refresh_in":7200}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 3599},
		},
		{
			name: "refresh_in equal to expires_in kept",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","expires_in":3599,"refresh_in":3599}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", ExpiresIn: 3599, RefreshIn: 3599},
		},
		{
			name: "refresh_in without expires_in kept",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","refresh_in":1800}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer", RefreshIn: 1800},
		},
		{
			name: "unknown members ignored",
			body: `{"access_token":"` + testAccessToken + `","token_type":"Bearer","foo":{"bar":[1,2,3]},"expires_on":true}`,
			want: &oauth.Response{AccessToken: testAccessToken, TokenType: "Bearer"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauth.ParseResponse([]byte(tt.body))
			if err != nil {
				t.Fatalf("ParseResponse(%s) = %v, want no error", tt.body, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseResponse(%s) mismatch (-want +got):\n%s", tt.body, diff)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	const (
		tok = `"access_token":"` + testAccessToken + `"`
		typ = `"token_type":"Bearer"`
	)
	tests := []struct {
		name      string
		body      string
		wantField string // "" for a body that is not a JSON object at all
	}{
		{name: "fractional expires_in", body: `{` + tok + `,` + typ + `,"expires_in":3599.5}`, wantField: "expires_in"},
		{name: "fractional string expires_in", body: `{` + tok + `,` + typ + `,"expires_in":"3599.5"}`, wantField: "expires_in"},
		{name: "negative expires_in", body: `{` + tok + `,` + typ + `,"expires_in":-1}`, wantField: "expires_in"},
		{name: "negative string ext_expires_in", body: `{` + tok + `,` + typ + `,"ext_expires_in":"-3600"}`, wantField: "ext_expires_in"},
		{name: "negative fraction refresh_in", body: `{` + tok + `,` + typ + `,"refresh_in":-0.5}`, wantField: "refresh_in"},
		{name: "expires_in past ten years", body: `{` + tok + `,` + typ + `,"expires_in":315360001}`, wantField: "expires_in"},
		{name: "huge expires_in", body: `{` + tok + `,` + typ + `,"expires_in":1e300}`, wantField: "expires_in"},
		{name: "expires_in past int64", body: `{` + tok + `,` + typ + `,"expires_in":9223372036854775808}`, wantField: "expires_in"},
		{name: "huge string refresh_in", body: `{` + tok + `,` + typ + `,"refresh_in":"99999999999999999999"}`, wantField: "refresh_in"},
		{name: "word expires_in", body: `{` + tok + `,` + typ + `,"expires_in":"soon"}`, wantField: "expires_in"},
		{name: "NaN expires_in", body: `{` + tok + `,` + typ + `,"expires_in":"NaN"}`, wantField: "expires_in"},
		{name: "Inf expires_in", body: `{` + tok + `,` + typ + `,"expires_in":"+Inf"}`, wantField: "expires_in"},
		{name: "empty string expires_in", body: `{` + tok + `,` + typ + `,"expires_in":""}`, wantField: "expires_in"},
		{name: "bool expires_in", body: `{` + tok + `,` + typ + `,"expires_in":true}`, wantField: "expires_in"},
		{name: "object ext_expires_in", body: `{` + tok + `,` + typ + `,"ext_expires_in":{"s":1}}`, wantField: "ext_expires_in"},
		{name: "missing access_token", body: `{` + typ + `,"expires_in":3599}`, wantField: "access_token"},
		{name: "empty access_token", body: `{"access_token":"",` + typ + `}`, wantField: "access_token"},
		{name: "null access_token", body: `{"access_token":null,` + typ + `}`, wantField: "access_token"},
		{name: "access_token with a space", body: `{"access_token":"` + testAccessToken + ` x",` + typ + `}`, wantField: "access_token"},
		{name: "access_token with a newline", body: `{"access_token":"` + testAccessToken + `\n",` + typ + `}`, wantField: "access_token"},
		{name: "access_token as number", body: `{"access_token":8675309123,` + typ + `}`, wantField: "access_token"},
		{name: "access_token as object", body: `{"access_token":{"value":"` + testAccessToken + `"},` + typ + `}`, wantField: "access_token"},
		{name: "token_type as bool", body: `{` + tok + `,"token_type":true}`, wantField: "token_type"},
		{name: "refresh_token as array", body: `{` + tok + `,` + typ + `,"refresh_token":["x"]}`, wantField: "refresh_token"},
		{name: "missing token_type", body: `{` + tok + `,"expires_in":3599}`, wantField: "token_type"},
		{name: "empty token_type", body: `{` + tok + `,"token_type":""}`, wantField: "token_type"},
		{name: "unsupported token_type mac", body: `{` + tok + `,"token_type":"mac"}`, wantField: "token_type"},
		{name: "unsupported long token_type", body: `{` + tok + `,"token_type":"` + strings.Repeat("x", 500) + `"}`, wantField: "token_type"},
		{name: "N_A without issued_token_type", body: `{` + tok + `,"token_type":"N_A"}`, wantField: "token_type"},
		{name: "N_A with empty issued_token_type", body: `{` + tok + `,"token_type":"N_A","issued_token_type":""}`, wantField: "token_type"},
		{name: "empty body", body: ``},
		{name: "white space body", body: " \r\n\t"},
		{name: "JSON array", body: `[{` + tok + `,` + typ + `}]`},
		{name: "JSON string", body: `"` + testAccessToken + `"`},
		{name: "JSON null", body: `null`},
		{name: "JSON number", body: `3599`},
		{name: "form-encoded body", body: `access_token=` + testAccessToken + `&token_type=Bearer`},
		{name: "HTML body", body: `<html><body>Service Unavailable</body></html>`},
		{name: "truncated JSON", body: `{` + tok + `,"token_type":"Bea`},
		{name: "trailing comma", body: `{` + tok + `,` + typ + `,}`},
		{name: "trailing garbage", body: `{` + tok + `,` + typ + `} {"x":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oauth.ParseResponse([]byte(tt.body))
			if err == nil {
				t.Fatalf("ParseResponse(%s) = %+v, want a *ParseError", tt.body, got)
			}
			if got != nil {
				t.Errorf("ParseResponse(%s) = %+v with error %v, want nil", tt.body, got, err)
			}
			var pe *oauth.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseResponse(%s) error = %T (%v), want a *ParseError", tt.body, err, err)
			}
			if pe.Field != tt.wantField {
				t.Errorf("ParseResponse(%s) error Field = %q, want %q", tt.body, pe.Field, tt.wantField)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantField) {
				t.Errorf("ParseResponse(%s) error %q does not name the field %q", tt.body, msg, tt.wantField)
			}
			for _, secret := range []string{testAccessToken, "8675309123"} {
				if strings.Contains(msg, secret) {
					t.Errorf("ParseResponse(%s) error %q contains the access token", tt.body, msg)
				}
			}
		})
	}
}
