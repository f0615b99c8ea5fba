package agentidtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// signingKey is one key pair of the Authority. It is immutable.
type signingKey struct {
	kid    string                 // RFC 7638 SHA-256 thumbprint, base64url
	alg    jwa.SignatureAlgorithm // RS256 or ES256
	signer crypto.Signer          // the private key
	public jwk.Key                // the public key with kid, alg and use
}

// keyring holds the Authority's signing keys: one current key per
// algorithm, and every public key still published in the JWKS.
type keyring struct {
	mu        sync.RWMutex           // guards current, published and jwks
	current   map[string]*signingKey // by algorithm name
	published []*signingKey          // keys in the JWKS, oldest first
	jwks      []byte                 // the JWKS document of published
}

// rotate makes a new RSA-2048 (RS256) and a new P-256 (ES256) key current
// and publishes them next to the keys already published.
func (k *keyring) rotate() error {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	rs, err := newSigningKey(jwa.RS256(), rsaKey)
	if err != nil {
		return err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	es, err := newSigningKey(jwa.ES256(), ecKey)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.current = map[string]*signingKey{algRS256: rs, algES256: es}
	return k.publishLocked(append(k.published, rs, es))
}

// retire removes every key that is not current from the JWKS.
func (k *keyring) retire() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keep []*signingKey
	for _, sk := range k.published {
		if k.current[sk.alg.String()] == sk {
			keep = append(keep, sk)
		}
	}
	return k.publishLocked(keep)
}

// publishLocked sets the published keys and renders their JWKS.
// k.mu must be held for writing.
func (k *keyring) publishLocked(keys []*signingKey) error {
	set := jwk.NewSet()
	for _, sk := range keys {
		if err := set.AddKey(sk.public); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return err
	}
	k.published, k.jwks = keys, doc
	return nil
}

// signer returns the current key for alg.
func (k *keyring) signer(alg string) *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current[alg]
}

// document returns the JWKS document. The caller must not modify it.
func (k *keyring) document() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

// newSigningKey wraps a private key with its public JWK.
func newSigningKey(alg jwa.SignatureAlgorithm, priv crypto.Signer) (*signingKey, error) {
	pub, err := jwk.Import(priv.Public())
	if err != nil {
		return nil, err
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for name, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(name, v); err != nil {
			return nil, err
		}
	}
	return &signingKey{kid: kid, alg: alg, signer: priv, public: pub}, nil
}

// RotateKeys makes a new RSA-2048 (RS256) and a new P-256 (ES256) key
// current, each with a new kid. Tokens issued from then on are signed with
// the new key of the configured algorithm ([WithSigningAlgorithm]). The
// old public keys stay in the JWKS, so tokens signed before the rotation
// still verify, until [Authority.RetireOldKeys]. RotateKeys panics if the
// keys cannot be generated, which does not happen in practice.
func (a *Authority) RotateKeys() {
	if err := a.keys.rotate(); err != nil {
		panic(fmt.Sprintf("agentidtest: RotateKeys: %v", err))
	}
}

// RetireOldKeys removes every key that is not current from the JWKS, so
// tokens signed before the last [Authority.RotateKeys] no longer verify.
func (a *Authority) RetireOldKeys() {
	if err := a.keys.retire(); err != nil {
		panic(fmt.Sprintf("agentidtest: RetireOldKeys: %v", err))
	}
}

// IssueToken signs claims as a compact JWS with the current signing key,
// with header alg, kid and typ "JWT", and returns it. Claims are encoded
// with encoding/json, except that top-level [time.Time] values become
// NumericDate seconds (RFC 7519 §2). Nothing is added to claims: the
// caller sets iss, aud, exp and the rest. Use it to make tokens a test
// needs, or to act as an external identity provider whose tokens another
// Authority accepts ([WithFederatedIdentity]).
func (a *Authority) IssueToken(claims map[string]any) (string, error) {
	enc := make(map[string]any, len(claims))
	for name, v := range claims {
		if t, ok := v.(time.Time); ok {
			v = t.Unix()
		}
		enc[name] = v
	}
	return a.sign(enc)
}

// sign signs claims with the current key of the configured algorithm.
func (a *Authority) sign(claims map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("agentidtest: encoding claims: %w", err)
	}
	sk := a.keys.signer(a.cfg.signingAlg)
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, sk.kid); err != nil {
		return "", err
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	tok, err := jws.Sign(payload, jws.WithKey(sk.alg, sk.signer, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("agentidtest: signing token: %w", err)
	}
	return string(tok), nil
}
