package agentidtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

const (
	// assertionLeeway is the clock skew allowed when checking exp, nbf and
	// iat of a client assertion.
	assertionLeeway = 60 * time.Second
	// maxAssertionLifetime bounds exp - iat of a private_key_jwt assertion,
	// as Entra does.
	maxAssertionLifetime = 10 * time.Minute
)

// parsedAssertion is a client assertion parsed but not yet verified.
type parsedAssertion struct {
	raw    []byte
	alg    jwa.SignatureAlgorithm
	header jws.Headers
	claims assertionClaims
}

// assertionClaims are the claims of a client assertion that are checked.
type assertionClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    *float64 `json:"exp"`
	NotBefore *float64 `json:"nbf"`
	IssuedAt  *float64 `json:"iat"`
	ID        string   `json:"jti"`
}

// audience is an aud claim: one string or an array of strings
// (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// parseAssertion parses a compact JWS client assertion and its claims,
// without verifying it. Headers that change how the JWS is processed
// (crit, b64) are refused.
func parseAssertion(s string) (*parsedAssertion, *tokenError) {
	malformed := invalidClient(false, codeMalformedJWT,
		"The client assertion is not a well-formed JWT in JWS compact serialization.")
	if strings.Count(s, ".") != 2 {
		return nil, malformed
	}
	msg, err := jws.Parse([]byte(s))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, malformed
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr == nil || hdr.Has(jws.CriticalKey) || hdr.Has(jws.B64Key) {
		return nil, malformed
	}
	alg, ok := hdr.Algorithm()
	if !ok {
		return nil, malformed
	}
	p := &parsedAssertion{raw: []byte(s), alg: alg, header: hdr}
	if err := json.Unmarshal(msg.Payload(), &p.claims); err != nil {
		return nil, malformed
	}
	return p, nil
}

// verifyPrivateKeyJWT verifies a client's own assertion (RFC 7523 §3):
// its signature by a registered key or certificate, then iss, sub, aud,
// exp, nbf, iat and a jti not seen before.
func (a *Authority) verifyPrivateKeyJWT(req *grantRequest, c *client, p *parsedAssertion) *tokenError {
	keys, te := c.assertionKeys(p.header)
	if te != nil {
		return te
	}
	if te := verifySignature(p, keys); te != nil {
		return te
	}
	cl := &p.claims
	if cl.Issuer != c.id || cl.Subject != c.id {
		return invalidClient(false, codeAssertionClientID,
			"Client assertion application identifier doesn't match 'client_id' parameter: iss and sub must both be '%s'.", c.id)
	}
	if !slices.Contains(cl.Audience, a.tokenURLFor(req.tenant)) && !slices.Contains(cl.Audience, a.IssuerFor(req.tenant)) {
		return invalidClient(false, codeInvalidAssertion,
			"The client assertion's audience claim does not match the token endpoint '%s' or the issuer.", a.tokenURLFor(req.tenant))
	}
	exp, te := checkTimes(cl, req.now, true)
	if te != nil {
		return te
	}
	if cl.ID == "" {
		return invalidClient(false, codeInvalidAssertion, "The client assertion has no 'jti' claim.")
	}
	if !a.jtis.use(c.id, cl.ID, exp.Add(assertionLeeway), req.now) {
		return invalidClient(false, codeInvalidAssertion,
			"The client assertion was already used: its 'jti' has been seen before.")
	}
	return nil
}

// checkTimes checks exp (required), nbf and iat of an assertion against
// now with assertionLeeway, and, if bounded, that exp - iat is at most
// maxAssertionLifetime. It returns exp.
func checkTimes(cl *assertionClaims, now time.Time, bounded bool) (time.Time, *tokenError) {
	if cl.Expiry == nil {
		return time.Time{}, invalidClient(false, codeInvalidAssertion, "The client assertion has no 'exp' claim.")
	}
	exp := numericDate(*cl.Expiry)
	if now.After(exp.Add(assertionLeeway)) {
		return exp, invalidClient(false, codeAssertionTime,
			"Client assertion is not within its valid time range: it expired at %s.", exp.UTC().Format(time.RFC3339))
	}
	if cl.NotBefore != nil && numericDate(*cl.NotBefore).After(now.Add(assertionLeeway)) {
		return exp, invalidClient(false, codeAssertionTime, "Client assertion is not within its valid time range: it is not valid yet (nbf).")
	}
	if cl.IssuedAt != nil {
		iat := numericDate(*cl.IssuedAt)
		if iat.After(now.Add(assertionLeeway)) {
			return exp, invalidClient(false, codeAssertionTime, "Client assertion is not within its valid time range: it was issued in the future (iat).")
		}
		if bounded && exp.Sub(iat) > maxAssertionLifetime {
			return exp, invalidClient(false, codeAssertionTime,
				"Client assertion is not within its valid time range: its lifetime exceeds %v.", maxAssertionLifetime)
		}
	}
	return exp, nil
}

// numericDate converts a NumericDate (RFC 7519 §2) to a time, clamping
// values too large to represent.
func numericDate(f float64) time.Time {
	const limit = 1 << 40 // about 36 000 years
	f = min(max(f, -limit), limit)
	return time.Unix(int64(f), 0)
}

// assertionKeys returns the keys that may have signed an assertion with
// header hdr. If the header names a certificate by x5t#S256, x5t or kid,
// that certificate's key is the only candidate; a thumbprint that names no
// registered certificate is refused.
func (c *client) assertionKeys(hdr jws.Headers) ([]crypto.PublicKey, *tokenError) {
	s256, hasS256 := hdr.X509CertThumbprintS256()
	s1, hasS1 := hdr.X509CertThumbprint()
	kid, _ := hdr.KeyID()
	for _, cert := range c.certs {
		switch {
		case hasS256 && s256 == cert.x5tS256,
			!hasS256 && hasS1 && s1 == cert.x5t,
			!hasS256 && !hasS1 && kid != "" && cert.namedBy(kid):
			return []crypto.PublicKey{cert.key}, nil
		}
	}
	if hasS256 || hasS1 {
		return nil, invalidClient(false, codeBadSignature,
			"The certificate with identifier used to sign the client assertion is not registered on application '%s'.", c.id)
	}
	keys := slices.Clone(c.keys)
	for _, cert := range c.certs {
		keys = append(keys, cert.key)
	}
	if len(keys) == 0 {
		return nil, invalidClient(false, codeBadSignature,
			"No certificate or key is registered on application '%s' to verify the client assertion.", c.id)
	}
	return keys, nil
}

// namedBy reports whether kid names the certificate by a thumbprint.
func (cert *certificate) namedBy(kid string) bool {
	return kid == cert.x5t || kid == cert.x5tS256 ||
		strings.EqualFold(kid, cert.sha1Hex) || strings.EqualFold(kid, cert.s256Hex)
}

// verifySignature verifies the assertion's signature with one of keys.
// The header alg must be RS256, PS256 or ES256 and fit the key's type:
// none and HMAC are never accepted.
func verifySignature(p *parsedAssertion, keys []crypto.PublicKey) *tokenError {
	if slices.Contains(assertionAlgs, p.alg.String()) {
		for _, key := range keys {
			if !algFitsKey(p.alg, key) {
				continue
			}
			if _, err := jws.Verify(p.raw, jws.WithKey(p.alg, key), jws.WithAlgorithmMatch(true)); err == nil {
				return nil
			}
		}
	}
	return invalidClient(false, codeBadSignature, "Client assertion failed signature validation.")
}

// algFitsKey reports whether alg is an algorithm for the key's type.
func algFitsKey(alg jwa.SignatureAlgorithm, key crypto.PublicKey) bool {
	switch key.(type) {
	case *rsa.PublicKey:
		return alg == jwa.RS256() || alg == jwa.PS256()
	case *ecdsa.PublicKey:
		return alg == jwa.ES256()
	}
	return false
}

// replayCache remembers the jti of every client assertion accepted until
// the assertion could no longer be accepted anyway.
type replayCache struct {
	mu   sync.Mutex              // guards seen
	seen map[[2]string]time.Time // (client id, jti) → when the entry may go
}

// use records jti for clientID until until, and reports whether it was
// unseen. Entries past their time are pruned first.
func (r *replayCache) use(clientID, jti string, until, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, t := range r.seen {
		if now.After(t) {
			delete(r.seen, k)
		}
	}
	k := [2]string{clientID, jti}
	if _, ok := r.seen[k]; ok {
		return false
	}
	if r.seen == nil {
		r.seen = make(map[[2]string]time.Time)
	}
	r.seen[k] = until
	return true
}
