package audit

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/agentpassport/passport/internal/telemetry"
)

// Redacted replaces the value of a redacted attribute, and a token found
// inside a string.
const Redacted = "[REDACTED]"

// sensitiveParts are the key fragments (matched case-insensitively
// anywhere in a key) that make a string, bytes, slice or map attribute
// secret: http.request.header.authorization, x-api-key, session_token,
// client_secret, db.password, http.response.header.set-cookie, ...
var sensitiveParts = []string{
	"authorization", "token", "secret", "password", "passwd", "cookie",
	"api_key", "apikey", "api-key", "private_key",
}

// safeKeys are keys that contain a sensitive fragment but name no secret:
// this module's own token attributes (an audience, a flow name, a flag, an
// error code; never a token). Their values are still scanned for tokens.
var safeKeys = map[string]bool{
	telemetry.TokenFlow:      true,
	telemetry.TokenScopes:    true,
	telemetry.TokenResource:  true,
	telemetry.TokenCacheHit:  true,
	telemetry.TokenErrorCode: true,
}

// redactor decides which attribute values leave the process. It is safe
// for concurrent use.
type redactor struct {
	keys map[string]bool // configured keys, exact match; redacted whatever their type

	// seen caches the action of keys met before: attribute keys are few
	// and repeat. It is copied on write, so reads take no lock.
	seen   atomic.Pointer[map[string]keyAction]
	seenMu sync.Mutex // serialises writers of seen
}

// maxSeenKeys bounds the cache of key actions.
const maxSeenKeys = 1024

// keyAction tells how a value under a key is treated.
type keyAction int

const (
	keepValue    keyAction = iota // scan strings for tokens
	redactSecret                  // replace string-like values (string, bytes, slices, maps)
	redactAlways                  // replace any value: a configured key
)

// action returns what to do with the value of key.
func (r *redactor) action(key string) keyAction {
	if m := r.seen.Load(); m != nil {
		if a, ok := (*m)[key]; ok {
			return a
		}
	}
	a := r.decide(key)
	r.seenMu.Lock()
	defer r.seenMu.Unlock()
	old := r.seen.Load()
	if old == nil || len(*old) < maxSeenKeys {
		m := make(map[string]keyAction, 1+lenOf(old))
		if old != nil {
			maps.Copy(m, *old)
		}
		m[strings.Clone(key)] = a
		r.seen.Store(&m)
	}
	return a
}

func lenOf(m *map[string]keyAction) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// decide returns what to do with the value of key, without the cache.
func (r *redactor) decide(key string) keyAction {
	if r.keys[key] {
		return redactAlways
	}
	if safeKeys[key] {
		return keepValue
	}
	if sensitiveKey(key) {
		return redactSecret
	}
	return keepValue
}

// sensitiveKey reports whether key contains a sensitive fragment, ASCII
// case-insensitively. It does not allocate for keys up to 128 bytes.
func sensitiveKey(key string) bool {
	var buf [128]byte
	var lower []byte
	if len(key) <= len(buf) {
		lower = buf[:len(key)]
		for i := 0; i < len(key); i++ {
			c := key[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
	} else {
		lower = []byte(strings.ToLower(key))
	}
	for _, p := range sensitiveParts {
		if indexBytes(lower, p) >= 0 {
			return true
		}
	}
	return false
}

func indexBytes(b []byte, s string) int {
	// strings.Index on a non-escaping conversion does not allocate.
	return strings.Index(string(b), s)
}

// scrub replaces every JWT (three or more base64url segments, the first
// starting with "eyJ") and the credential of every "Bearer <token>" in s
// with [Redacted]. It returns s itself when there is nothing to replace,
// without allocating.
func scrub(s string) string {
	if !strings.Contains(s, "eyJ") && !hasBearer(s) {
		return s
	}
	var b strings.Builder
	last := 0 // s[last:i] is not yet copied
	for i := 0; i < len(s); {
		if n := jwtAt(s, i); n > 0 {
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			i += n
			last = i
			continue
		}
		if start, end := bearerAt(s, i); end > 0 {
			b.WriteString(s[last:start])
			b.WriteString(Redacted)
			i, last = end, end
			continue
		}
		i++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// hasBearer reports whether s contains "bearer" in any case.
func hasBearer(s string) bool {
	for i := 0; i+6 <= len(s); i++ {
		if s[i]|0x20 == 'b' && strings.EqualFold(s[i:i+6], "bearer") {
			return true
		}
	}
	return false
}

func isB64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// jwtAt returns the length of the compact JWS or JWE starting at s[i], or
// 0: "eyJ" and base64url characters, then 2 to 4 more segments each
// after a '.', the last of which may be empty (an unsecured JWT).
func jwtAt(s string, i int) int {
	if !strings.HasPrefix(s[i:], "eyJ") || (i > 0 && isB64URL(s[i-1])) {
		return 0
	}
	j := i + 3
	for j < len(s) && isB64URL(s[j]) {
		j++
	}
	if j-i < 8 {
		return 0
	}
	dots := 0
	end := 0
	for dots < 4 && j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && isB64URL(s[k]) {
			k++
		}
		dots++
		j = k
		if dots >= 2 {
			end = j
		}
	}
	if end == 0 {
		return 0
	}
	return end - i
}

func isToken68(c byte) bool {
	return isB64URL(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '='
}

// bearerAt returns the bounds of the credential after "Bearer " at s[i]
// (any case, at a word start, one or more spaces), or end 0.
func bearerAt(s string, i int) (start, end int) {
	if i+6 > len(s) || s[i]|0x20 != 'b' || !strings.EqualFold(s[i:i+6], "bearer") {
		return 0, 0
	}
	if i > 0 && (isB64URL(s[i-1])) {
		return 0, 0
	}
	j := i + 6
	if j >= len(s) || s[j] != ' ' {
		return 0, 0
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	k := j
	for k < len(s) && isToken68(s[k]) {
		k++
	}
	if k == j {
		return 0, 0
	}
	return j, k
}
