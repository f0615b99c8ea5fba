package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// Bundle is a set of policy documents as the agent registry publishes
// it: the payload of a compact JWS signed with one of the registry's
// keys.
//
// On the wire the payload is the JSON object
//
//	{"version": "42", "exp": 1767225600, "policies": {"tools.cedar": "permit (…);"}}
//
// where exp is a NumericDate (RFC 7519 §2). All three members are
// required.
type Bundle struct {
	// Version names the bundle; [Engine.Status] reports it.
	Version string
	// Expires is when the bundle stops being accepted.
	Expires time.Time
	// Policies maps document names to Cedar policy text.
	Policies map[string]string
}

type bundleWire struct {
	Version  *string           `json:"version"`
	Exp      *json.Number      `json:"exp"`
	Policies map[string]string `json:"policies"`
}

// bundleAlgs are the signature algorithms a bundle may use: asymmetric
// ones only, never "none" or HMAC.
var bundleAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// BundleOption configures a bundle source ([FromBundle],
// [FromBundleFile]) or [VerifyBundle].
type BundleOption interface{ applyBundle(*bundleConfig) }

type bundleConfig struct {
	now     func() time.Time
	maxSize int
}

type bundleOptionFunc func(*bundleConfig)

func (f bundleOptionFunc) applyBundle(c *bundleConfig) { f(c) }

const defaultMaxBundle = 4 << 20

func newBundleConfig(opts []BundleOption) *bundleConfig {
	c := &bundleConfig{now: time.Now, maxSize: defaultMaxBundle}
	for _, o := range opts {
		if o != nil {
			o.applyBundle(c)
		}
	}
	return c
}

// WithMaxBundleSize bounds the size of a signed bundle, in bytes. The
// default is 4 MiB.
func WithMaxBundleSize(n int) BundleOption {
	return bundleOptionFunc(func(c *bundleConfig) {
		if n > 0 {
			c.maxSize = n
		}
	})
}

// VerifyBundle verifies data, a compact JWS, with keys and returns the
// bundle it carries. It refuses (with [ErrInvalidBundle]) anything but a
// compact JWS whose protected header names an asymmetric algorithm (RSA,
// RSA-PSS, ECDSA, EdDSA) and no crit, whose signature verifies with the
// key of keys its kid names (or the only key, when keys has one and the
// header no kid) and that key's algorithm, and whose payload is a
// well-formed bundle; and it refuses an expired bundle with
// [ErrBundleExpired].
func VerifyBundle(data []byte, keys jwk.Set, opts ...BundleOption) (Bundle, error) {
	return verifyBundle(data, keys, newBundleConfig(opts))
}

func verifyBundle(data []byte, keys jwk.Set, cfg *bundleConfig) (Bundle, error) {
	data = bytes.TrimSpace(data)
	if len(data) > cfg.maxSize {
		return Bundle{}, fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidBundle, len(data), cfg.maxSize)
	}
	if keys == nil || keys.Len() == 0 {
		return Bundle{}, fmt.Errorf("%w: no trusted key", ErrInvalidBundle)
	}
	parts := strings.Split(string(data), ".")
	if len(parts) != 3 || parts[2] == "" {
		return Bundle{}, fmt.Errorf("%w: not a signed compact JWS", ErrInvalidBundle)
	}
	hb, err := base64.RawURLEncoding.Strict().DecodeString(parts[0])
	if err != nil {
		return Bundle{}, fmt.Errorf("%w: header: %w", ErrInvalidBundle, err)
	}
	var hdr struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return Bundle{}, fmt.Errorf("%w: header: %w", ErrInvalidBundle, err)
	}
	if !slices.Contains(bundleAlgs, hdr.Alg) {
		return Bundle{}, fmt.Errorf("%w: algorithm %q is not allowed", ErrInvalidBundle, hdr.Alg)
	}
	if hdr.Crit != nil {
		return Bundle{}, fmt.Errorf("%w: crit header", ErrInvalidBundle)
	}
	payload, err := jws.Verify(data, jws.WithCompact(), jws.WithKeySet(keys,
		jws.WithInferAlgorithmFromKey(true), jws.WithUseDefault(true)))
	if err != nil {
		return Bundle{}, fmt.Errorf("%w: signature: %w", ErrInvalidBundle, err)
	}
	var w bundleWire
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return Bundle{}, fmt.Errorf("%w: payload: %w", ErrInvalidBundle, err)
	}
	if w.Version == nil || *w.Version == "" || w.Exp == nil || w.Policies == nil {
		return Bundle{}, fmt.Errorf("%w: payload: version, exp and policies are required", ErrInvalidBundle)
	}
	exp, err := w.Exp.Float64()
	if err != nil || exp <= 0 || exp > 1<<40 {
		return Bundle{}, fmt.Errorf("%w: payload: exp is not a NumericDate", ErrInvalidBundle)
	}
	b := Bundle{Version: *w.Version, Expires: time.Unix(int64(exp), 0).UTC(), Policies: w.Policies}
	if !cfg.now().Before(b.Expires) {
		return Bundle{}, fmt.Errorf("%w: version %q expired at %s", ErrBundleExpired, b.Version, b.Expires.Format(time.RFC3339))
	}
	return b, nil
}

// SignBundle signs b with key, a private jwk.Key with a key id, and
// returns the compact JWS. The algorithm is the key's alg, else RS256
// for RSA, ES256/384/512 for the EC curves and EdDSA for Ed25519. It is
// what an agent registry, or a test, publishes.
func SignBundle(b Bundle, key jwk.Key) ([]byte, error) {
	if b.Version == "" || b.Expires.IsZero() || b.Policies == nil {
		return nil, fmt.Errorf("%w: version, expiry and policies are required", ErrInvalidBundle)
	}
	alg, err := signingAlg(key)
	if err != nil {
		return nil, err
	}
	v, exp := b.Version, json.Number(fmt.Sprint(b.Expires.Unix()))
	payload, err := json.Marshal(bundleWire{Version: &v, Exp: &exp, Policies: b.Policies})
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return jws.Sign(payload, jws.WithKey(alg, key))
}

func signingAlg(key jwk.Key) (jwa.SignatureAlgorithm, error) {
	if a, ok := key.Algorithm(); ok {
		if s, ok := jwa.LookupSignatureAlgorithm(a.String()); ok && slices.Contains(bundleAlgs, s.String()) {
			return s, nil
		}
		return jwa.SignatureAlgorithm{}, fmt.Errorf("%w: key algorithm %q is not allowed", ErrInvalidBundle, a)
	}
	switch k := key.(type) {
	case jwk.RSAPrivateKey:
		return jwa.RS256(), nil
	case jwk.ECDSAPrivateKey:
		crv, _ := k.Crv()
		switch crv {
		case jwa.P256():
			return jwa.ES256(), nil
		case jwa.P384():
			return jwa.ES384(), nil
		case jwa.P521():
			return jwa.ES512(), nil
		}
	case jwk.OKPPrivateKey:
		return jwa.EdDSA(), nil
	}
	return jwa.SignatureAlgorithm{}, fmt.Errorf("%w: cannot sign with a %s key", ErrInvalidBundle, key.KeyType())
}

// FromBundle returns a source of signed bundles: fetch returns a compact
// JWS (from the agent registry, say), which is verified with keys as
// [VerifyBundle] does. The documents are the bundle's policies, in name
// order; the snapshot's version is the bundle's. A refused bundle fails
// the load, so that the engine keeps its last good set. The bundle is
// verified again only when fetch returns different bytes, and its
// expiry checked on every load.
func FromBundle(fetch func(ctx context.Context) ([]byte, error), keys jwk.Set, opts ...BundleOption) Source {
	return &bundleSource{fetch: fetch, keys: keys, cfg: newBundleConfig(opts)}
}

// FromBundleFile returns a source of the signed bundle in the file at
// path; see [FromBundle].
func FromBundleFile(path string, keys jwk.Set, opts ...BundleOption) Source {
	cfg := newBundleConfig(opts)
	return &bundleSource{keys: keys, cfg: cfg, fetch: func(context.Context) ([]byte, error) {
		text, err := readFile(path)
		return []byte(text), err
	}}
}

type bundleSource struct {
	fetch func(context.Context) ([]byte, error)
	keys  jwk.Set
	cfg   *bundleConfig

	mu   sync.Mutex // guards hash and last
	hash [32]byte
	last *Bundle
}

func (s *bundleSource) Load(ctx context.Context) (Snapshot, error) {
	data, err := s.fetch(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("policy: fetching the bundle: %w", err)
	}
	h := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	var b Bundle
	if s.last != nil && h == s.hash {
		b = *s.last
		if !s.cfg.now().Before(b.Expires) {
			return Snapshot{}, fmt.Errorf("%w: version %q expired at %s", ErrBundleExpired, b.Version, b.Expires.Format(time.RFC3339))
		}
	} else {
		if b, err = verifyBundle(data, s.keys, s.cfg); err != nil {
			return Snapshot{}, err
		}
		s.hash, s.last = h, &b
	}
	names := make([]string, 0, len(b.Policies))
	for n := range b.Policies {
		names = append(names, n)
	}
	slices.Sort(names)
	snap := Snapshot{Version: b.Version, Documents: make([]Document, len(names))}
	for i, n := range names {
		snap.Documents[i] = Document{Name: n, Text: b.Policies[n]}
	}
	return snap, nil
}
