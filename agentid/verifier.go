package agentid

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentpassport/passport/internal/clock"
)

// maxDiscoveryBytes bounds the discovery document read.
const maxDiscoveryBytes = 1 << 20

// Verifier verifies the JWT access tokens of one issuer for one resource
// (RFC 7519, RFC 9068), and tells who is calling: [Verifier.Verify]
// returns the token's [Principal].
//
// The issuer's keys come from its JWKS, fetched and kept fresh by a jwx
// [jwk.Cache]: a token signed with a key the Verifier does not know yet
// makes it fetch the JWKS again, at most once per key refresh interval
// ([WithKeyRefreshInterval]). A token is accepted only when all of these
// hold, checked in this order:
//
//   - it is at most the maximum size ([WithMaxTokenSize], 16 KiB);
//   - it is a compact JWS of exactly three segments of strict base64url
//     (no padding, no standard-alphabet characters, no stray bits);
//   - its header alg is in the allowlist ([WithAlgorithms]: RS256, PS256,
//     ES256), which never holds "none" or an HMAC algorithm;
//   - its header has no crit (no extension is understood), no b64, no
//     enc or zip, no cty (nested tokens are refused), and a typ, if any,
//     of "JWT", "at+jwt", "application/jwt" or "application/at+jwt";
//   - its kid names a key of the issuer's JWKS whose algorithm is alg
//     (the JWK alg when published, else the key type's: RSA for RS* and
//     PS*, P-256 for ES256…). The jku, x5u, jwk and x5c headers are
//     never used: keys come from the issuer's JWKS alone;
//   - the signature over the first two segments verifies with that key,
//     by jwx's verifier for the algorithm ([jws.VerifierFor]);
//   - the claims are a JSON object (strict RFC 8259: UTF-8, at most 64
//     levels deep, claim names matched exactly) whose known claims have
//     their shapes (aud a string or an array, scp a string or an array,
//     facets integer sets, act nested objects at most
//     [MaxDelegationDepth] deep);
//   - exp, iss and (unless [WithoutAudienceCheck]) aud are present, and
//     so are the claims of [WithRequiredClaims];
//   - iss is the issuer, exactly;
//   - one value of aud is one of the audiences ([WithAudience]);
//   - exp is after now, nbf (if present) is not after now, and iat (if
//     present) is not after now, each within the leeway ([WithLeeway],
//     one minute).
//
// A Verifier is safe for concurrent use. It runs goroutines (those of the
// jwk.Cache): call [Verifier.Close] when done with it.
type Verifier struct {
	cfg    *verifierConfig
	issuer string
	keys   *keySet
	cache  *tokenCache // nil when WithTokenCache is not set
	closed atomic.Bool
	once   sync.Once // makes Close idempotent
	err    error     // the result of Close
}

// NewVerifier returns a Verifier for the tokens that issuer (the exact
// iss value, such as "https://login.microsoftonline.com/{tenant}/v2.0")
// issues to the audiences of [WithAudience], which is required.
//
// Unless [WithJWKSURL] is given, it reads the issuer's OpenID Connect
// discovery document at issuer + "/.well-known/openid-configuration",
// checks that the document's issuer is exactly issuer (OpenID Connect
// Discovery §4.3) and takes its jwks_uri. It then fetches the JWKS, and
// fails if it cannot. ctx bounds these requests only. Every URL must be
// https, or http to a loopback host, unless [WithInsecureHTTP].
//
// The caller must call [Verifier.Close] when done with the Verifier.
func NewVerifier(ctx context.Context, issuer string, opts ...VerifierOption) (*Verifier, error) {
	cfg, err := newVerifierConfig(opts)
	if err != nil {
		return nil, err
	}
	if issuer == "" {
		return nil, errors.New("agentid: empty issuer")
	}
	jwksURL := cfg.jwksURL
	if jwksURL == "" {
		if err := checkURL(issuer, cfg.insecureHTTP); err != nil {
			return nil, fmt.Errorf("agentid: issuer: %w", err)
		}
		if jwksURL, err = discoverJWKS(ctx, cfg, issuer); err != nil {
			cfg.closeIdle()
			return nil, err
		}
	}
	v := &Verifier{cfg: cfg, issuer: issuer}
	now := time.Now
	if cfg.clock != nil {
		now = cfg.clock
	}
	if v.keys, err = newKeySet(ctx, jwksURL, cfg, now); err != nil {
		cfg.closeIdle()
		return nil, err
	}
	if cfg.cacheSize > 0 {
		v.cache = newTokenCache(cfg.cacheSize)
		v.keys.changed = v.cache.clear
	}
	return v, nil
}

// closeIdle closes the idle connections of the HTTP client if it was made
// here.
func (c *verifierConfig) closeIdle() {
	if c.ownHC {
		c.hc.CloseIdleConnections()
	}
}

// Issuer returns the issuer the Verifier accepts tokens of.
func (v *Verifier) Issuer() string { return v.issuer }

// Close stops the key refreshes and the jwk.Cache, and waits for their
// goroutines to end. After Close, Verify returns [ErrClosed]. Close is
// idempotent; it returns the error of stopping the cache, if any.
func (v *Verifier) Close() error {
	v.once.Do(func() {
		v.closed.Store(true)
		v.err = v.keys.close()
		v.cfg.closeIdle()
		if v.cache != nil {
			v.cache.clear()
		}
	})
	return v.err
}

// Verify verifies token (a compact JWS, without the "Bearer " prefix) and
// returns its Principal. A token it rejects gets a [*VerifyError] naming
// the failed check and wrapping a sentinel such as [ErrTokenExpired] or
// [ErrInvalidSignature]; the error never contains the token. ctx bounds
// the wait for a JWKS refresh, the only I/O Verify may do. After
// [Verifier.Close], Verify returns [ErrClosed].
//
// The Principal may be shared (see [WithTokenCache]) and must be treated
// as read-only.
func (v *Verifier) Verify(ctx context.Context, token string) (*Principal, error) {
	if v.closed.Load() {
		return nil, ErrClosed
	}
	if len(token) > v.cfg.maxSize {
		return nil, reject(CheckSize, ErrTokenTooLarge, "%d bytes, limit %d", len(token), v.cfg.maxSize)
	}
	now := v.now()
	if v.cache != nil {
		if p := v.cache.get(token, now); p != nil {
			return p, nil
		}
	}
	p, exp, err := v.verify(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if v.cache != nil {
		v.cache.put(token, p, exp, now)
	}
	return p, nil
}

// now returns the current time in microseconds since the epoch.
func (v *Verifier) now() int64 {
	if v.cfg.clock != nil {
		return v.cfg.clock().UnixMicro()
	}
	return clock.Now()
}

// verify runs every check on token at now (µs) and returns its
// Principal and exp (µs).
func (v *Verifier) verify(ctx context.Context, token string, now int64) (*Principal, int64, error) {
	hdrSeg, rest, ok := strings.Cut(token, ".")
	paySeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || strings.IndexByte(sigSeg, '.') >= 0 {
		return nil, 0, reject(CheckMalformed, ErrMalformedToken, "not three dot-separated segments")
	}
	h, err := parseHeader(hdrSeg)
	if err != nil {
		return nil, 0, err
	}
	if err := v.checkHeader(h); err != nil {
		return nil, 0, err
	}
	if !validSegment(paySeg) || !validSegment(sigSeg) {
		return nil, 0, reject(CheckMalformed, ErrMalformedToken, "payload or signature is not strict base64url")
	}
	if h.Kid == "" {
		return nil, 0, reject(CheckKey, ErrUnknownKey, "no kid in the header")
	}
	key, verifier, err := v.keys.lookup(ctx, h.Kid, h.Alg)
	if err != nil {
		return nil, 0, err
	}
	// The segments are strict base64url (checked above), so they decode.
	sig, err := base64.RawURLEncoding.DecodeString(sigSeg)
	if err != nil {
		return nil, 0, reject(CheckMalformed, ErrMalformedToken, "signature is not base64url")
	}
	signingInput := []byte(token[:len(hdrSeg)+1+len(paySeg)])
	if err := verifier.Verify(key.key, signingInput, sig); err != nil {
		return nil, 0, reject(CheckSignature, ErrInvalidSignature, "%w", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(paySeg)
	if err != nil {
		return nil, 0, reject(CheckMalformed, ErrMalformedToken, "payload is not base64url")
	}
	claimsJSON := string(payload)
	c, err := decodeClaims(claimsJSON)
	if err != nil {
		return nil, 0, reject(CheckMalformed, ErrMalformedToken, "claims: %w", err)
	}
	if err := v.checkClaims(c, claimsJSON, now); err != nil {
		return nil, 0, err
	}
	return newPrincipal(c, claimsJSON), c.Exp.micros(), nil
}

// parseHeader decodes the protected header segment.
func parseHeader(seg string) (*header, error) {
	if !validSegment(seg) {
		return nil, reject(CheckMalformed, ErrMalformedToken, "header is not strict base64url")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, reject(CheckMalformed, ErrMalformedToken, "header is not strict base64url")
	}
	h, err := decodeHeader(string(raw))
	if err != nil {
		return nil, reject(CheckMalformed, ErrMalformedToken, "header is not a JSON object of the expected types")
	}
	return h, nil
}

// accessTokenTypes are the typ values accepted, compared
// case-insensitively (RFC 7515 §4.1.9, RFC 9068 §2.1).
var accessTokenTypes = []string{"jwt", "at+jwt", "application/jwt", "application/at+jwt"}

// checkHeader applies the algorithm and header rules.
func (v *Verifier) checkHeader(h *header) error {
	switch {
	case h.Alg == "":
		return reject(CheckAlgorithm, ErrAlgorithm, "no alg in the header")
	case !slices.Contains(v.cfg.algs, h.Alg):
		return reject(CheckAlgorithm, ErrAlgorithm, "alg %s is not allowed", quote(h.Alg))
	case h.Crit:
		return reject(CheckHeader, ErrUnsupportedHeader, "crit names extensions this verifier does not understand")
	case h.B64:
		return reject(CheckHeader, ErrUnsupportedHeader, "b64 (unencoded payload) is not supported")
	case h.Enc || h.Zip:
		return reject(CheckHeader, ErrUnsupportedHeader, "enc or zip: not a signed JWT")
	case h.Cty != "":
		return reject(CheckHeader, ErrUnsupportedHeader, "cty %s: nested tokens are not accepted", quote(h.Cty))
	case h.Typ != "" && !slices.Contains(accessTokenTypes, strings.ToLower(h.Typ)):
		return reject(CheckHeader, ErrUnsupportedHeader, "typ %s is not an access token type", quote(h.Typ))
	}
	return nil
}

// checkClaims applies the claim rules at now (µs).
func (v *Verifier) checkClaims(c *claims, payload string, now int64) error {
	if err := v.checkRequired(c, payload); err != nil {
		return err
	}
	if c.Iss != v.issuer {
		return reject(CheckIssuer, ErrWrongIssuer, "iss %s, want %s", quote(c.Iss), quote(v.issuer))
	}
	if !v.cfg.noAudience && !slices.ContainsFunc(c.Aud, func(a string) bool { return slices.Contains(v.cfg.audiences, a) }) {
		return reject(CheckAudience, ErrWrongAudience, "aud %s is none of the accepted audiences", quoteList(c.Aud))
	}
	leeway := v.cfg.leeway.Microseconds()
	if now >= c.Exp.micros()+leeway {
		return reject(CheckExpiry, ErrTokenExpired, "exp %s, now %s, leeway %v", fmtMicros(c.Exp.micros()), fmtMicros(now), v.cfg.leeway)
	}
	if c.Nbf.set && c.Nbf.micros() > now+leeway {
		return reject(CheckNotBefore, ErrTokenNotYetValid, "nbf %s, now %s, leeway %v", fmtMicros(c.Nbf.micros()), fmtMicros(now), v.cfg.leeway)
	}
	if c.Iat.set && c.Iat.micros() > now+leeway {
		return reject(CheckIssuedAt, ErrIssuedInFuture, "iat %s, now %s, leeway %v", fmtMicros(c.Iat.micros()), fmtMicros(now), v.cfg.leeway)
	}
	return nil
}

// checkRequired checks that the required claims are present.
func (v *Verifier) checkRequired(c *claims, payload string) error {
	if !c.Exp.set {
		return reject(CheckRequiredClaim, ErrMissingClaim, "exp")
	}
	if c.Iss == "" {
		return reject(CheckRequiredClaim, ErrMissingClaim, "iss")
	}
	if !v.cfg.noAudience && len(c.Aud) == 0 {
		return reject(CheckRequiredClaim, ErrMissingClaim, "aud")
	}
	var all map[string]json.RawMessage // decoded only for names not typed in claims
	for _, name := range v.cfg.required {
		present, known := c.has(name)
		if !known {
			if all == nil {
				if json.Unmarshal([]byte(payload), &all) != nil {
					all = map[string]json.RawMessage{}
				}
			}
			raw, ok := all[name]
			present = ok && !isNull(string(raw)) && string(raw) != `""`
		}
		if !present {
			return reject(CheckRequiredClaim, ErrMissingClaim, "%s", quote(name))
		}
	}
	return nil
}

// validSegment reports whether s is strict base64url without padding
// (RFC 7515 §2): only the URL-safe alphabet, a length that is not 1
// modulo 4, and zero bits after the last encoded byte. An empty segment
// is not valid.
func validSegment(s string) bool {
	n := len(s)
	if n == 0 || n%4 == 1 {
		return false
	}
	for i := 0; i < n; i++ {
		if b64Value[s[i]] < 0 {
			return false
		}
	}
	last := b64Value[s[n-1]]
	switch n % 4 {
	case 2:
		return last&0x0f == 0
	case 3:
		return last&0x03 == 0
	}
	return true
}

// b64Value maps a byte to its value in the base64url alphabet, or -1.
var b64Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		t[alphabet[i]] = int8(i)
	}
	return t
}()

// fmtMicros formats µs since the epoch as RFC 3339 in UTC.
func fmtMicros(us int64) string { return clock.Time(us).UTC().Format(time.RFC3339) }

// quoteList quotes untrusted values for an error message, at most four.
func quoteList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	q := make([]string, 0, min(len(l), 4))
	for i, s := range l {
		if i == 4 {
			q = append(q, "…")
			break
		}
		q = append(q, quote(s))
	}
	return "[" + strings.Join(q, " ") + "]"
}

// discoverJWKS reads the issuer's OpenID Connect discovery document and
// returns its jwks_uri.
func discoverJWKS(ctx context.Context, cfg *verifierConfig, issuer string) (string, error) {
	where := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return "", fmt.Errorf("agentid: discovery: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := cfg.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("agentid: discovery: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("agentid: discovery: GET %s: %s", where, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBytes+1))
	if err != nil {
		return "", fmt.Errorf("agentid: discovery: reading %s: %w", where, err)
	}
	if len(body) > maxDiscoveryBytes {
		return "", fmt.Errorf("agentid: discovery: %s is larger than %d bytes", where, maxDiscoveryBytes)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("agentid: discovery: %s: %w", where, err)
	}
	if doc.Issuer != issuer {
		return "", fmt.Errorf("agentid: discovery: %s names issuer %q, want %q", where, doc.Issuer, issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("agentid: discovery: %s has no jwks_uri", where)
	}
	if err := checkURL(doc.JWKSURI, cfg.insecureHTTP); err != nil {
		return "", fmt.Errorf("agentid: discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}
