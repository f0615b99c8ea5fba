package credentials

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v3/cert"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// assertionLifetime is the validity of a client assertion; RFC 7523
// leaves it to the server, Entra accepts up to 10 minutes.
const assertionLifetime = 5 * time.Minute

type assertionClaims struct {
	Audience  string `json:"aud"`
	Expiry    int64  `json:"exp"`
	IssuedAt  int64  `json:"iat"`
	Issuer    string `json:"iss"`
	ID        string `json:"jti"`
	NotBefore int64  `json:"nbf"`
	Subject   string `json:"sub"`
}

// assertionAudience is the "aud" of a client assertion. Entra wants its
// token endpoint. Elsewhere the issuer identifier is used when known, as
// draft-ietf-oauth-rfc7523bis requires (a token endpoint URL as audience
// lets an assertion be replayed at another server that shares the URL
// through a proxy), else the token endpoint.
func assertionAudience(md *metadata) string {
	if md.entra || md.issuer == "" {
		return md.tokenURL
	}
	return md.issuer
}

// sign builds and signs a client assertion (RFC 7523 §3).
func (k *keyCredential) sign(a *authRequest) (string, error) {
	alg, err := k.algorithm(a.md)
	if err != nil {
		return "", err
	}
	jwsAlg, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok {
		return "", fmt.Errorf("credentials: unknown algorithm %s", alg)
	}
	jti, err := randomID()
	if err != nil {
		return "", err
	}
	now := a.now.Unix()
	payload, err := json.Marshal(assertionClaims{
		Audience:  assertionAudience(a.md),
		Expiry:    now + int64(assertionLifetime/time.Second),
		IssuedAt:  now,
		Issuer:    a.clientID,
		ID:        jti,
		NotBefore: now,
		Subject:   a.clientID,
	})
	if err != nil {
		return "", fmt.Errorf("credentials: encoding the client assertion: %w", err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	if k.keyID != "" {
		if err := h.Set(jws.KeyIDKey, k.keyID); err != nil {
			return "", err
		}
	}
	if len(k.chain) > 0 {
		if err := h.Set(jws.X509CertThumbprintS256Key, thumbprint(k.chain[0])); err != nil {
			return "", err
		}
		if k.sendChain {
			var chain cert.Chain
			for _, c := range k.chain {
				if err := chain.AddString(base64.StdEncoding.EncodeToString(c.Raw)); err != nil {
					return "", fmt.Errorf("credentials: x5c: %w", err)
				}
			}
			if err := h.Set(jws.X509CertChainKey, &chain); err != nil {
				return "", err
			}
		}
	}
	signed, err := jws.Sign(payload, jws.WithKey(jwsAlg, k.key, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("credentials: signing the client assertion with %s: %w", alg, err)
	}
	return string(signed), nil
}

// randomID returns 128 random bits, base64url-encoded.
func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("credentials: reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
