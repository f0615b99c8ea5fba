package oauth_test

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/internal/oauth"
)

const (
	// tenYears is the largest lifetime ParseResponse accepts, in seconds.
	tenYears = 10 * 365 * 24 * 3600
	// maxErrorMessage bounds a ParseError message: it may quote a
	// truncated token_type, never a whole body.
	maxErrorMessage = 256
)

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		`{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":3599,"ext_expires_in":3599,"refresh_in":1799,"access_token":"eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln"}`,
		`{"token_type":"Bearer","expires_in":"3599","ext_expires_in":"3599","expires_on":"1700003599","resource":"https://management.azure.com/","access_token":"eyJ0.eyJ1.c2"}`,
		`{"access_token":"at","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A","expires_in":60}`,
		`{"access_token":"at","token_type":"bearer","expires_in":3600.0,"refresh_token":"rt","id_token":"it","client_info":"ci","scope":"openid"}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":3599,"refresh_in":7200}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":3599.5}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":-1,"ext_expires_in":1e300}`,
		`{"access_token":"at","token_type":"mac"}`,
		`{"access_token":"at","token_type":"N_A"}`,
		`{"access_token":12345,"token_type":"Bearer"}`,
		`{"access_token":"a b","token_type":"Bearer"}`,
		`{"error":"invalid_grant"}`,
		`[]`,
		`null`,
		``,
		`{"access_token":"at",`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := oauth.ParseResponse(body)
		if err != nil {
			if r != nil {
				t.Errorf("ParseResponse(%q) = %+v with error %v, want nil", body, r, err)
			}
			var pe *oauth.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("ParseResponse(%q) error = %T (%v), want a *ParseError", body, err, err)
			}
			if msg := err.Error(); len(msg) > maxErrorMessage || !utf8.ValidString(msg) {
				t.Errorf("ParseResponse(%q) error = %q, want a short UTF-8 message", body, msg)
			}
			return
		}
		checkResponse(t, body, r)

		again, err := oauth.ParseResponse(encodeResponse(t, r))
		if err != nil {
			t.Fatalf("ParseResponse(encodeResponse(%+v)) = %v, want no error", r, err)
		}
		if diff := cmp.Diff(r, again); diff != "" {
			t.Errorf("ParseResponse(encodeResponse(ParseResponse(%q))) mismatch (-want +got):\n%s", body, diff)
		}
	})
}

// checkResponse checks the invariants of every successful ParseResponse.
func checkResponse(t *testing.T, body []byte, r *oauth.Response) {
	t.Helper()
	if r.AccessToken == "" || strings.ContainsAny(r.AccessToken, " \t\r\n") {
		t.Errorf("ParseResponse(%q).AccessToken = %q, want non-empty without white space", body, r.AccessToken)
	}
	switch {
	case r.TokenType == "Bearer":
	case r.TokenType == "N_A" && r.IssuedTokenType != "":
	default:
		t.Errorf("ParseResponse(%q) TokenType, IssuedTokenType = %q, %q, want Bearer, or N_A with an issued type", body, r.TokenType, r.IssuedTokenType)
	}
	for _, l := range []struct {
		name string
		v    int64
	}{{"ExpiresIn", r.ExpiresIn}, {"ExtExpiresIn", r.ExtExpiresIn}, {"RefreshIn", r.RefreshIn}} {
		if l.v < 0 || l.v > tenYears {
			t.Errorf("ParseResponse(%q).%s = %d, want in [0, %d]", body, l.name, l.v, tenYears)
		}
	}
	if r.RefreshIn > 0 && r.ExpiresIn > 0 && r.RefreshIn > r.ExpiresIn {
		t.Errorf("ParseResponse(%q) RefreshIn = %d > ExpiresIn = %d", body, r.RefreshIn, r.ExpiresIn)
	}
}

// encodeResponse writes r back in the wire format.
func encodeResponse(t *testing.T, r *oauth.Response) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"access_token":      r.AccessToken,
		"token_type":        r.TokenType,
		"expires_in":        r.ExpiresIn,
		"ext_expires_in":    r.ExtExpiresIn,
		"refresh_in":        r.RefreshIn,
		"refresh_token":     r.RefreshToken,
		"scope":             r.Scope,
		"id_token":          r.IDToken,
		"issued_token_type": r.IssuedTokenType,
		"client_info":       r.ClientInfo,
	})
	if err != nil {
		t.Fatalf("json.Marshal(%+v) = %v", r, err)
	}
	return b
}

func FuzzParseErrorResponse(f *testing.F) {
	for _, s := range []string{
		entraErrorBody,
		`{"error":"invalid_grant","error_description":"AADSTS50173: revoked","error_codes":[50173],"suberror":"bad_token","claims":"{\"access_token\":{\"capolids\":{\"essential\":true,\"values\":[\"c1\"]}}}"}`,
		`{"error":"invalid_grant","error_description":"expired","error_uri":"https://as.example.com/e"}`,
		`{"error":"invalid_request","error_codes":"7000215"}`,
		`{"error":"invalid_request","error_codes":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18]}`,
		`{"error":"invalid_request","error_codes":[1.5,-2,1e3]}`,
		`{"error":"invalid_grant","trace_id":5}`,
		`{"error":400}`,
		`{"error":null}`,
		`{"error_description":"no code"}`,
		`<html>502</html>`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, ok := oauth.ParseErrorResponse(body)
		if ok != (e != nil) {
			t.Fatalf("ParseErrorResponse(%q) = %+v, %v, want a response exactly when ok", body, e, ok)
		}
		if !ok {
			return
		}
		if e.Code == "" {
			t.Errorf("ParseErrorResponse(%q).Code = \"\", want non-empty", body)
		}
		if len(e.ErrorCodes) > 16 {
			t.Errorf("ParseErrorResponse(%q) has %d error codes, want at most 16", body, len(e.ErrorCodes))
		}

		again, ok := oauth.ParseErrorResponse(encodeErrorResponse(t, e))
		if !ok {
			t.Fatalf("ParseErrorResponse(encodeErrorResponse(%+v)) ok = false, want true", e)
		}
		if diff := cmp.Diff(e, again); diff != "" {
			t.Errorf("ParseErrorResponse(encodeErrorResponse(ParseErrorResponse(%q))) mismatch (-want +got):\n%s", body, diff)
		}
	})
}

// encodeErrorResponse writes e back in the wire format.
func encodeErrorResponse(t *testing.T, e *oauth.ErrorResponse) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"error":             e.Code,
		"error_description": e.Description,
		"error_uri":         e.URI,
		"error_codes":       e.ErrorCodes,
		"trace_id":          e.TraceID,
		"correlation_id":    e.CorrelationID,
		"timestamp":         e.Timestamp,
		"suberror":          e.SubError,
		"claims":            e.Claims,
	})
	if err != nil {
		t.Fatalf("json.Marshal(%+v) = %v", e, err)
	}
	return b
}

// offsetRE finds the offset a ParseChallenges error names.
var offsetRE = regexp.MustCompile(`offset (\d+)`)

func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer error="invalid_token", error_description="expired"`,
		`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + caeClaims + `"`,
		`Basic realm="x", Bearer error="invalid_token"`,
		`Negotiate abc==`,
		`Negotiate YIIBhwYG+/x==, NTLM, Basic realm=corp`,
		`Negotiate`,
		`bearer Realm="api", ERROR=invalid_token, error="dup"`,
		`Bearer error_description="the \"token\" is \\ bad"`,
		"Bearer realm = \"x\" ,\t, error\t=\ty",
		`Bearer error="invalid_token`,
		`="x"`,
		"Bearer error=\"a\x01b\"",
		`Bearer a="b" c="d"`,
		`Negotiate abc== x`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		cs, err := oauth.ParseChallenges(h)
		if err != nil {
			if cs != nil {
				t.Errorf("ParseChallenges(%q) = %+v with error %v, want nil", h, cs, err)
			}
			if len(h) <= 16<<10 {
				m := offsetRE.FindStringSubmatch(err.Error())
				if m == nil {
					t.Fatalf("ParseChallenges(%q) error %q names no offset", h, err)
				}
				if off, _ := strconv.Atoi(m[1]); off > len(h) {
					t.Errorf("ParseChallenges(%q) error %q names an offset past the end (%d)", h, err, len(h))
				}
			}
			return
		}
		for _, c := range cs {
			if c.Scheme == "" || !isToken(c.Scheme) {
				t.Errorf("ParseChallenges(%q) scheme %q, want a non-empty token", h, c.Scheme)
			}
			if c.Params != nil && c.Token68 != "" {
				t.Errorf("ParseChallenges(%q) challenge %+v has both params and a token68", h, c)
			}
			if c.Params != nil && len(c.Params) == 0 {
				t.Errorf("ParseChallenges(%q) challenge %+v has an empty, non-nil Params", h, c)
			}
			for name := range c.Params {
				if name == "" || !isToken(name) || name != strings.ToLower(name) {
					t.Errorf("ParseChallenges(%q) param name %q, want a lower-case token", h, name)
				}
			}
		}

		enc := encodeChallenges(cs)
		if len(enc) > 16<<10 {
			return
		}
		again, err := oauth.ParseChallenges(enc)
		if err != nil {
			t.Fatalf("ParseChallenges(%q) (re-encoded from %q) = %v, want no error", enc, h, err)
		}
		if diff := cmp.Diff(cs, again); diff != "" {
			t.Errorf("ParseChallenges(%q) (re-encoded from %q) mismatch (-want +got):\n%s", enc, h, diff)
		}
	})
}

// encodeChallenges writes challenges back as a WWW-Authenticate value,
// quoting every param value.
func encodeChallenges(cs []oauth.Challenge) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Scheme)
		if c.Token68 != "" {
			b.WriteString(" " + c.Token68)
		}
		for j, name := range slices.Sorted(maps.Keys(c.Params)) {
			if j == 0 {
				b.WriteString(" ")
			} else {
				b.WriteString(", ")
			}
			b.WriteString(name + `="`)
			v := c.Params[name]
			for k := 0; k < len(v); k++ {
				if v[k] == '"' || v[k] == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(v[k])
			}
			b.WriteString(`"`)
		}
	}
	return b.String()
}

// isToken reports whether s is made of tchars (RFC 9110 §5.6.2).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{
		"120",
		"0",
		"-5",
		"3600",
		"3601",
		"99999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT",
		"Thu, 14 Sep 2023 12:26:40.5 GMT",
		"Sunday, 06-Nov-94 08:49:37 GMT",
		"soon",
		"",
	} {
		for _, off := range []uint32{0, 1e6, 3e9} {
			f.Add(s, off)
		}
	}
	f.Fuzz(func(t *testing.T, v string, off uint32) {
		// now ranges over whole seconds from 2023 to 2159.
		now := time.Unix(1_694_694_400+int64(off), 0)
		d := oauth.ParseRetryAfter(v, now)
		if d < 0 || d > time.Hour {
			t.Fatalf("ParseRetryAfter(%q, %v) = %v, want in [0, 1h]", v, now, d)
		}
		if want, ok := delaySeconds(v); ok && d != want {
			t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v", v, now, d, want)
		}

		whole := d.Truncate(time.Second)
		secs := strconv.FormatInt(int64(whole/time.Second), 10)
		if got := oauth.ParseRetryAfter(secs, now); got != whole {
			t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v (re-encoded from %q)", secs, now, got, whole, v)
		}
		date := now.Add(d).UTC().Format(http.TimeFormat)
		if got := oauth.ParseRetryAfter(date, now); got != whole {
			t.Errorf("ParseRetryAfter(%q, %v) = %v, want %v (re-encoded from %q)", date, now, got, whole, v)
		}
	})
}

// delaySeconds returns the wait a delay-seconds value (1*DIGIT, RFC 9110
// §10.2.3) asks for, capped at an hour; ok is false when v is not one.
func delaySeconds(v string) (d time.Duration, ok bool) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	v = strings.TrimLeft(v, "0")
	if len(v) > 4 {
		return time.Hour, true
	}
	n, _ := strconv.Atoi(v) // "" is 0
	return min(time.Duration(n)*time.Second, time.Hour), true
}
