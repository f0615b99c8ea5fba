package credentials

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agentpassport/passport/internal/clock"
)

// Token is an access token and what is known about it.
//
// A Token is immutable: a [Source] hands the same *Token to every caller
// that its cache serves, so its fields are reached through methods and
// cannot be changed. It never prints its value: String, GoString, Format,
// LogValue and MarshalJSON all leave the access token out.
type Token struct {
	accessToken string
	tokenType   string
	expiresAt   int64 // wall-clock µs since the Unix epoch
	refreshAt   int64 // wall-clock µs; 0 when no proactive refresh point
	scopes      []string
	issuedType  string // RFC 8693 issued_token_type, when the server sent one
}

// NewToken returns a Token, for [Source] implementations and tests.
// tokenType defaults to "Bearer" when empty; expiresAt is stored as a
// wall-clock instant (any monotonic reading is dropped).
func NewToken(accessToken, tokenType string, expiresAt time.Time) *Token {
	if tokenType == "" {
		tokenType = "Bearer"
	}
	return &Token{accessToken: accessToken, tokenType: tokenType, expiresAt: clock.Micros(expiresAt)}
}

// AccessToken returns the raw access token, to be put on the wire. Never
// log it.
func (t *Token) AccessToken() string { return t.accessToken }

// Type returns the token type, normally "Bearer".
func (t *Token) Type() string { return t.tokenType }

// ExpiresAt returns when the token expires, as the authorization server
// said (expires_in from the moment the response arrived). The cache stops
// serving it earlier, by its expiry skew.
func (t *Token) ExpiresAt() time.Time { return clock.Time(t.expiresAt) }

// RefreshAt returns when the cache starts refreshing the token in the
// background, or the zero time when it does not.
func (t *Token) RefreshAt() time.Time {
	if t.refreshAt == 0 {
		return time.Time{}
	}
	return clock.Time(t.refreshAt)
}

// Scopes returns a copy of the scopes the token was granted: those the
// server listed in its response, else those requested.
func (t *Token) Scopes() []string { return slices.Clone(t.scopes) }

// IssuedTokenType returns the RFC 8693 issued_token_type of a token from
// a token exchange, such as "urn:ietf:params:oauth:token-type:access_token",
// or "" when the server sent none.
func (t *Token) IssuedTokenType() string { return t.issuedType }

// Expired reports whether the token has expired by the wall clock at now.
func (t *Token) Expired(now time.Time) bool { return clock.Micros(now) >= t.expiresAt }

// SetAuthHeader sets the Authorization header of r to this token.
func (t *Token) SetAuthHeader(r *http.Request) {
	r.Header.Set("Authorization", t.tokenType+" "+t.accessToken)
}

// The printing methods below have value receivers so that a Token value,
// not only a *Token, redacts itself.

// String describes the token without its value.
func (t Token) String() string {
	return fmt.Sprintf("credentials.Token{Type: %s, ExpiresAt: %s, Scopes: %s, AccessToken: %s}",
		t.tokenType, t.ExpiresAt().UTC().Format(time.RFC3339), strings.Join(t.scopes, " "), redacted)
}

// GoString describes the token without its value, for %#v.
func (t Token) GoString() string { return t.String() }

// Format prints [Token.String] for every verb, so no verb prints the
// value.
func (t Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(t.String())) }

// LogValue describes the token for log/slog without its value.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", t.tokenType),
		slog.Time("expires_at", t.ExpiresAt()),
		slog.Any("scopes", t.scopes),
		slog.String("access_token", redacted),
	)
}

// MarshalJSON encodes the token without its value.
func (t Token) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type        string    `json:"token_type"`
		ExpiresAt   time.Time `json:"expires_at"`
		Scopes      []string  `json:"scopes,omitempty"`
		AccessToken string    `json:"access_token"`
	}{t.tokenType, t.ExpiresAt(), t.scopes, redacted})
}
