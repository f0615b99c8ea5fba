package agentid

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// JWKS fetching bounds.
const (
	maxJWKSBytes       = 1 << 20          // bound of a JWKS document
	jwksMinInterval    = 5 * time.Minute  // background refresh, at the most often
	jwksMaxInterval    = time.Hour        // background refresh, at the least often
	keyRefreshTimeout  = 30 * time.Second // bound of one unknown-kid refresh
	minRSABits         = 2048             // shorter RSA keys in a JWKS are ignored
	shutdownTimeout    = 30 * time.Second // bound of Close waiting for jwk.Cache
	maxRedirects       = 5
	startupErrorBuffer = 1
)

// verifyKey is one public key of the issuer, ready to verify with. It is
// immutable.
type verifyKey struct {
	key  crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	algs []keyAlg         // the algorithms the key verifies, within the allowlist
}

// keyAlg is an algorithm a key verifies, with jwx's verifier for it.
type keyAlg struct {
	name     string
	verifier jws.Verifier2
}

// verifier returns jwx's verifier for the algorithm name if k verifies it.
func (k *verifyKey) verifier(name string) (jws.Verifier2, bool) {
	for _, a := range k.algs {
		if a.name == name {
			return a.verifier, true
		}
	}
	return nil, false
}

// keyIndex is the issuer's keys by kid, built from one version of the
// JWKS. It is immutable.
type keyIndex struct {
	src   jwk.Set                 // the JWKS it was built from; nil before the first fetch
	byKID map[string][]*verifyKey // usually one key per kid
}

// keySet holds the issuer's keys: a jwk.Cache that fetches and refreshes
// the JWKS, and an index of the usable keys by kid that a verification
// reads with one atomic load.
type keySet struct {
	url      string
	cache    *jwk.Cache
	res      *httprc.ResourceBase[jwk.Set] // the JWKS resource in cache; Resource() is an atomic load
	algs     []string                      // the allowlist
	interval time.Duration                 // minimum time between unknown-kid refreshes
	now      func() time.Time
	changed  func() // called when a kid leaves the JWKS; may be nil

	idx atomic.Pointer[keyIndex]

	ctx    context.Context    // lifetime of refreshes; cancelled by close
	cancel context.CancelFunc // cancels ctx
	wg     sync.WaitGroup     // counts refresh goroutines

	mu     sync.Mutex     // guards last and flight, and serializes index rebuilds
	last   time.Time      // start of the last unknown-kid refresh; zero if none
	flight *refreshFlight // the unknown-kid refresh in progress, or nil
}

// refreshFlight is one unknown-kid refresh, shared by every caller that
// arrives while it runs.
type refreshFlight struct {
	done chan struct{} // closed when err is set
	err  error
}

// startupErrors receives the fetch errors of the jwk.Cache until the JWKS
// is first fetched, so that NewVerifier can report why it could not be.
type startupErrors struct {
	ch chan error
}

func (s *startupErrors) put(_ context.Context, err error) {
	select {
	case s.ch <- err:
	default:
	}
}

// newKeySet starts a jwk.Cache for jwksURL and waits, within ctx, for the
// first fetch of the JWKS.
func newKeySet(ctx context.Context, jwksURL string, cfg *verifierConfig, now func() time.Time) (*keySet, error) {
	ks := &keySet{
		url:      jwksURL,
		algs:     cfg.algs,
		interval: cfg.keyRefresh,
		now:      now,
	}
	ks.idx.Store(&keyIndex{})
	ks.ctx, ks.cancel = context.WithCancel(context.Background())
	startup := &startupErrors{ch: make(chan error, startupErrorBuffer)}
	client := httprc.NewClient(
		httprc.WithHTTPClient(cfg.hc),
		httprc.WithWorkers(1),
		httprc.WithErrorSink(errsink.NewFunc(startup.put)),
	)
	cache, err := jwk.NewCache(ks.ctx, client)
	if err != nil {
		ks.cancel()
		return nil, fmt.Errorf("agentid: starting the key cache: %w", err)
	}
	ks.cache = cache
	err = cache.Register(ctx, jwksURL,
		jwk.WithWaitReady(false),
		jwk.WithHTTPClient(cfg.hc),
		jwk.WithMaxFetchBodySize(maxJWKSBytes),
		jwk.WithMinInterval(jwksMinInterval),
		jwk.WithMaxInterval(jwksMaxInterval),
	)
	if err == nil {
		ks.res, err = cache.LookupResource(ctx, jwksURL)
	}
	if err == nil {
		err = ks.waitReady(ctx, startup.ch)
	}
	if err == nil && len(ks.current().byKID) == 0 {
		err = fmt.Errorf("the JWKS %s has no key usable with the algorithms %v", jwksURL, cfg.algs)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("agentid: %w", err), ks.close())
	}
	return ks, nil
}

// waitReady waits for the first fetch of the JWKS: it returns nil once
// the JWKS is in the cache, or the first fetch error, or ctx's error.
func (ks *keySet) waitReady(ctx context.Context, fetchErrs <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan error, 1)
	go func() { ready <- ks.res.Ready(ctx) }()
	select {
	case err := <-ready:
		if err != nil {
			return fmt.Errorf("fetching the JWKS %s: %w", ks.url, err)
		}
		return nil
	case err := <-fetchErrs:
		cancel()
		<-ready
		if ks.res.Resource() != nil {
			return nil // a later fetch succeeded meanwhile
		}
		return fmt.Errorf("fetching the JWKS %s: %w", ks.url, err)
	}
}

// close stops the refreshes and the jwk.Cache, and waits for their
// goroutines to end.
func (ks *keySet) close() error {
	ks.mu.Lock() // so that no refresh starts (wg.Add) once Wait may run
	ks.cancel()
	ks.mu.Unlock()
	ks.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := ks.cache.Shutdown(ctx); err != nil {
		return fmt.Errorf("agentid: stopping the key cache: %w", err)
	}
	return nil
}

// current returns the index of the latest JWKS the jwk.Cache holds,
// rebuilding it if the cache has refreshed the JWKS since it was built.
func (ks *keySet) current() *keyIndex {
	idx := ks.idx.Load()
	if set := ks.res.Resource(); set != nil && set != idx.src {
		idx = ks.rebuild(set)
	}
	return idx
}

// rebuild indexes set, unless an index of it was built meanwhile.
func (ks *keySet) rebuild(set jwk.Set) *keyIndex {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	old := ks.idx.Load()
	if old.src == set {
		return old
	}
	idx := &keyIndex{src: set, byKID: indexKeys(set, ks.algs)}
	ks.idx.Store(idx)
	if ks.changed != nil {
		for kid := range old.byKID {
			if _, ok := idx.byKID[kid]; !ok {
				ks.changed()
				break
			}
		}
	}
	return idx
}

// lookup returns the key for kid and alg, and jwx's verifier for alg,
// refreshing the JWKS once, within the rate limit, when kid is unknown.
func (ks *keySet) lookup(ctx context.Context, kid, alg string) (*verifyKey, jws.Verifier2, error) {
	keys, ok := ks.current().byKID[kid]
	if !ok {
		refreshErr := ks.refresh(ctx)
		if keys, ok = ks.current().byKID[kid]; !ok {
			if refreshErr != nil {
				return nil, nil, reject(CheckKey, ErrUnknownKey, "kid %s (%w)", quote(kid), refreshErr)
			}
			return nil, nil, reject(CheckKey, ErrUnknownKey, "kid %s", quote(kid))
		}
	}
	for _, k := range keys {
		if v, ok := k.verifier(alg); ok {
			return k, v, nil
		}
	}
	return nil, nil, reject(CheckAlgorithm, ErrAlgorithm, "alg %s is not the algorithm of key %s", quote(alg), quote(kid))
}

// errRateLimited is the cause given when an unknown kid finds the JWKS
// refreshed too recently to be refreshed again.
var errRateLimited = errors.New("JWKS refreshed less than the key refresh interval ago")

// refresh refreshes the JWKS for an unknown kid: at most once per
// interval, with every caller that arrives while a refresh runs waiting
// for that one.
func (ks *keySet) refresh(ctx context.Context) error {
	ks.mu.Lock()
	f := ks.flight
	if f == nil {
		now := ks.now()
		if !ks.last.IsZero() && now.Sub(ks.last) < ks.interval && now.Sub(ks.last) > -ks.interval {
			ks.mu.Unlock()
			return errRateLimited
		}
		if ks.ctx.Err() != nil {
			ks.mu.Unlock()
			return ErrClosed
		}
		ks.last = now
		f = &refreshFlight{done: make(chan struct{})}
		ks.flight = f
		ks.wg.Add(1)
		go ks.runRefresh(f)
	}
	ks.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runRefresh fetches the JWKS again through the jwk.Cache and indexes it.
func (ks *keySet) runRefresh(f *refreshFlight) {
	defer ks.wg.Done()
	ctx, cancel := context.WithTimeout(ks.ctx, keyRefreshTimeout)
	set, err := ks.cache.Refresh(ctx, ks.url)
	cancel()
	if err == nil {
		ks.rebuild(set)
	}
	ks.mu.Lock()
	ks.flight = nil
	ks.mu.Unlock()
	f.err = err
	close(f.done)
}

// indexKeys returns the usable signature keys of set by kid: keys with a
// kid, not symmetric, whose use (if any) is "sig" and whose key_ops (if
// any) include "verify", RSA keys of at least 2048 bits, and only for the
// allowed algorithms that fit the key. A key whose JWK alg is present
// verifies that algorithm alone.
func indexKeys(set jwk.Set, allowed []string) map[string][]*verifyKey {
	byKID := make(map[string][]*verifyKey, set.Len())
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok {
			continue
		}
		kid, ok := k.KeyID()
		if !ok || kid == "" {
			continue
		}
		if use, ok := k.KeyUsage(); ok && use != "sig" {
			continue
		}
		if ops, ok := k.KeyOps(); ok && !slices.Contains(ops, jwk.KeyOpVerify) {
			continue
		}
		vk := newVerifyKey(k, allowed)
		if vk == nil {
			continue
		}
		byKID[kid] = append(byKID[kid], vk)
	}
	return byKID
}

// newVerifyKey returns k as a verifyKey, or nil if it cannot verify any
// allowed algorithm.
func newVerifyKey(k jwk.Key, allowed []string) *verifyKey {
	if k.KeyType() == jwa.OctetSeq() {
		return nil // symmetric: never
	}
	var raw any
	if err := jwk.Export(k, &raw); err != nil {
		return nil
	}
	if s, ok := raw.(crypto.Signer); ok {
		raw = s.Public() // a private key published by mistake: use its public half
	}
	fits := keyAlgorithms(raw)
	if a, ok := k.Algorithm(); ok {
		name := a.String()
		if !slices.Contains(fits, name) {
			return nil
		}
		fits = []string{name}
	}
	vk := &verifyKey{key: raw}
	for _, name := range fits {
		if !slices.Contains(allowed, name) {
			continue
		}
		a, ok := jwa.LookupSignatureAlgorithm(name)
		if !ok {
			continue
		}
		v, err := jws.VerifierFor(a)
		if err != nil {
			continue
		}
		vk.algs = append(vk.algs, keyAlg{name: name, verifier: v})
	}
	if len(vk.algs) == 0 {
		return nil
	}
	return vk
}

// keyAlgorithms returns the algorithms a public key can verify, by its
// type (and curve).
func keyAlgorithms(key any) []string {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return nil
		}
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return []string{"ES256"}
		case elliptic.P384():
			return []string{"ES384"}
		case elliptic.P521():
			return []string{"ES512"}
		}
	case ed25519.PublicKey:
		return []string{"EdDSA"}
	}
	return nil
}

// checkURL reports whether raw may be fetched: an absolute https URL, or
// http to a loopback host, or any http URL when insecure.
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL: %w", err)
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if insecure || isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing plain http to %s: use https (or WithInsecureHTTP)", u.Host)
	}
	return fmt.Errorf("URL %q: want an https URL", raw)
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newHTTPClient returns the default client: a 30-second timeout, its own
// transport (closed by Verifier.Close), and at most 5 redirects, none from
// https to plain http unless insecure or to loopback.
func newHTTPClient(insecure bool) *http.Client {
	var tr *http.Transport
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = dt.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	return &http.Client{
		Timeout:   defaultTimeout,
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("stopped after %d redirects", maxRedirects)
			}
			return checkURL(req.URL.String(), insecure)
		},
	}
}
