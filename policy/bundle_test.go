package policy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/agentpassport/passport/policy"
)

// signer is a registry signing key and the key set that trusts it.
type signer struct {
	priv jwk.Key
	set  jwk.Set
}

func newSigner(t testing.TB, kid string) signer {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signerOf(t, raw, kid)
}

func signerOf(t testing.TB, raw any, kid string) signer {
	t.Helper()
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := priv.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
	return signer{priv, set}
}

func (s signer) sign(t testing.TB, b policy.Bundle) []byte {
	t.Helper()
	out, err := policy.SignBundle(b, s.priv)
	if err != nil {
		t.Fatalf("SignBundle: %v", err)
	}
	return out
}

var bundleNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func goodBundle() policy.Bundle {
	return policy.Bundle{Version: "7", Expires: bundleNow.Add(time.Hour), Policies: map[string]string{"tools.cedar": allowAll}}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyBundle(t *testing.T) {
	reg := newSigner(t, "registry-1")
	impostor := newSigner(t, "registry-1") // same kid, other key
	rsaRaw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner := signerOf(t, rsaRaw, "rsa-1")
	good := reg.sign(t, goodBundle())
	parts := strings.Split(string(good), ".")

	payload, _ := json.Marshal(map[string]any{"version": "7", "exp": bundleNow.Add(time.Hour).Unix(), "policies": map[string]string{"x.cedar": allowAll}})
	hmacKey, err := jwk.Import([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	_ = hmacKey.Set(jwk.KeyIDKey, "registry-1")
	hs256, err := jws.Sign(payload, jws.WithKey(jwa.HS256(), hmacKey))
	if err != nil {
		t.Fatal(err)
	}
	withHMACKey := jwk.NewSet()
	_ = withHMACKey.AddKey(hmacKey)
	jsonJWS, err := jws.Sign(payload, jws.WithJSON(), jws.WithKey(jwa.ES256(), reg.priv))
	if err != nil {
		t.Fatal(err)
	}
	tampered := parts[0] + "." + b64(strings.Replace(mustDecode(t, parts[1]), `"7"`, `"8"`, 1)) + "." + parts[2]
	critHdr := jwsWithHeader(t, reg, `{"alg":"ES256","kid":"registry-1","crit":["exp"],"exp":1}`, payload)
	// An RSA signature presented as PS256 while the key says RS256.
	rsaKeyWithAlg, _ := jwk.PublicKeyOf(rsaSigner.priv)
	_ = rsaKeyWithAlg.Set(jwk.AlgorithmKey, jwa.RS256())
	rsaSetWithAlg := jwk.NewSet()
	_ = rsaSetWithAlg.AddKey(rsaKeyWithAlg)
	ps256, err := jws.Sign(payload, jws.WithKey(jwa.PS256(), rsaSigner.priv))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		data []byte
		keys jwk.Set
		opts []policy.BundleOption
		want error
	}{
		{"valid", good, reg.set, nil, nil},
		{"valid RSA", rsaSigner.sign(t, goodBundle()), rsaSigner.set, nil, nil},
		{"wrong key", impostor.sign(t, goodBundle()), reg.set, nil, policy.ErrInvalidBundle},
		{"unknown kid", newSigner(t, "other").sign(t, goodBundle()), reg.set, nil, policy.ErrInvalidBundle},
		{"alg none, no signature", []byte(b64(`{"alg":"none"}`) + "." + b64(string(payload)) + "."), reg.set, nil, policy.ErrInvalidBundle},
		{"alg none with a signature", []byte(b64(`{"alg":"none","kid":"registry-1"}`) + "." + b64(string(payload)) + "." + parts[2]), reg.set, nil, policy.ErrInvalidBundle},
		{"HS256 with a trusted secret", hs256, withHMACKey, nil, policy.ErrInvalidBundle},
		{"tampered payload", []byte(tampered), reg.set, nil, policy.ErrInvalidBundle},
		{"unsigned payload", payload, reg.set, nil, policy.ErrInvalidBundle},
		{"JSON serialization", jsonJWS, reg.set, nil, policy.ErrInvalidBundle},
		{"crit header", critHdr, reg.set, nil, policy.ErrInvalidBundle},
		{"alg other than the key's", ps256, rsaSetWithAlg, nil, policy.ErrInvalidBundle},
		{"no trusted keys", good, jwk.NewSet(), nil, policy.ErrInvalidBundle},
		{"too large", good, reg.set, []policy.BundleOption{policy.WithMaxBundleSize(100)}, policy.ErrInvalidBundle},
		{"expired", reg.sign(t, policy.Bundle{Version: "6", Expires: bundleNow.Add(-time.Second), Policies: map[string]string{}}), reg.set, nil, policy.ErrBundleExpired},
		{"missing version", jwsWithHeader(t, reg, `{"alg":"ES256","kid":"registry-1"}`, []byte(`{"exp":4102444800,"policies":{}}`)), reg.set, nil, policy.ErrInvalidBundle},
		{"missing exp", jwsWithHeader(t, reg, `{"alg":"ES256","kid":"registry-1"}`, []byte(`{"version":"1","policies":{}}`)), reg.set, nil, policy.ErrInvalidBundle},
		{"payload not JSON", jwsWithHeader(t, reg, `{"alg":"ES256","kid":"registry-1"}`, []byte(`policies`)), reg.set, nil, policy.ErrInvalidBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]policy.BundleOption{policy.WithClock(func() time.Time { return bundleNow })}, tt.opts...)
			b, err := policy.VerifyBundle(tt.data, tt.keys, opts...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("VerifyBundle() error = %v, want %v", err, tt.want)
			}
			if err == nil && (b.Version != "7" || b.Policies["tools.cedar"] != allowAll || !b.Expires.Equal(bundleNow.Add(time.Hour))) {
				t.Errorf("VerifyBundle() = %+v, want the signed bundle", b)
			}
		})
	}
}

func mustDecode(t testing.TB, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwsWithHeader signs payload under the protected header hdr.
func jwsWithHeader(t testing.TB, s signer, hdr string, payload []byte) []byte {
	t.Helper()
	h := jws.NewHeaders()
	var m map[string]any
	if err := json.Unmarshal([]byte(hdr), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range m {
		if k == "alg" {
			continue
		}
		if l, ok := v.([]any); ok {
			ss := make([]string, len(l))
			for i, x := range l {
				ss[i] = x.(string)
			}
			v = ss
		}
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.ES256(), s.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBundleSource loads a bundle into an engine, refuses a bad update
// and an expired bundle, and keeps the last good set meanwhile.
func TestBundleSource(t *testing.T) {
	reg := newSigner(t, "registry-1")
	c := newClock()
	c.Set(bundleNow)
	var mu sync.Mutex
	current := reg.sign(t, goodBundle())
	fetch := func(context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return current, nil
	}
	publish := func(b []byte) {
		mu.Lock()
		current = b
		mu.Unlock()
	}
	e, err := policy.New(context.Background(), policy.FromBundle(fetch, reg.set, policy.WithClock(c.Now)), policy.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if st := e.Status(); st.Version != "7" || st.Policies != 1 {
		t.Fatalf("Status() = %+v, want version 7 with 1 policy", st)
	}

	publish(newSigner(t, "registry-1").sign(t, policy.Bundle{Version: "8", Expires: bundleNow.Add(time.Hour), Policies: map[string]string{"x.cedar": denyAll}}))
	if err := e.Reload(context.Background()); !errors.Is(err, policy.ErrInvalidBundle) {
		t.Errorf("Reload() of a bundle signed by another key error = %v, want ErrInvalidBundle", err)
	}
	publish(reg.sign(t, policy.Bundle{Version: "9", Expires: bundleNow.Add(time.Hour), Policies: map[string]string{"x.cedar": badSet}}))
	var le *policy.LoadError
	if err := e.Reload(context.Background()); !errors.As(err, &le) || le.File != "x.cedar" {
		t.Errorf("Reload() of a bundle with a bad policy error = %v, want a *LoadError in x.cedar", err)
	}
	if d := decide(t, e, toolCall); !d.Allow || e.Status().Version != "7" {
		t.Errorf("after refused updates Decide() = %v with version %q, want the allow of version 7", d, e.Status().Version)
	}

	publish(reg.sign(t, policy.Bundle{Version: "10", Expires: bundleNow.Add(time.Hour), Policies: map[string]string{"x.cedar": denyAll}}))
	if err := e.Reload(context.Background()); err != nil || e.Status().Version != "10" {
		t.Fatalf("Reload() of a good bundle = %v, version %q, want nil and version 10", err, e.Status().Version)
	}
	c.Advance(2 * time.Hour)
	if err := e.Reload(context.Background()); !errors.Is(err, policy.ErrBundleExpired) {
		t.Errorf("Reload() of an expired bundle error = %v, want ErrBundleExpired", err)
	}
}
