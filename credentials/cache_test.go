package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

const grantCC = "client_credentials"

func TestColdCacheConcurrentSafe(t *testing.T) {
	a, c := newSecretClient(t, nil)
	a.SetLatency(50 * time.Millisecond)

	const callers = 1000
	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
		toks  = make([]*credentials.Token, callers)
		errs  = make([]error, callers)
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			toks[i], errs[i] = c.Token(context.Background(), ordersRead)
		}()
	}
	close(start)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: Token() error = %v", i, errs[i])
		}
		if toks[i] != toks[0] {
			t.Fatalf("caller %d got a different token than caller 0", i)
		}
	}
	if got := a.Requests(grantCC); got != 1 {
		t.Errorf("token requests for %d concurrent callers on a cold key = %d, want 1", callers, got)
	}
}

func TestColdCacheOtherKeysNotBlocked(t *testing.T) {
	a, c := newSecretClient(t, nil)
	// Prime key B, then make the authority slow and miss on key A.
	reqB := credentials.Request{Scopes: []string{"api://b/.default"}}
	tokB, err := c.Token(context.Background(), reqB)
	if err != nil {
		t.Fatal(err)
	}
	a.SetLatency(2 * time.Second)
	go func() { _, _ = c.Token(context.Background(), ordersRead) }()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	got, err := c.Token(ctx, reqB)
	if err != nil {
		t.Fatalf("Token(B) while A is in flight: %v (a miss on one key must not block another)", err)
	}
	if got != tokB {
		t.Errorf("Token(B) = a new token, want the cached one")
	}
}

func TestRefreshServesValidTokenWhileOneRefreshRuns(t *testing.T) {
	clk := newFakeClock()
	a, c := newSecretClient(t, []agentidtest.Option{agentidtest.WithRefreshIn(10 * time.Minute)}, credentials.WithClock(clk.Now))
	old, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(10 * time.Minute); old.RefreshAt().Sub(want).Abs() > time.Second {
		t.Errorf("RefreshAt() = %v, want %v (refresh_in)", old.RefreshAt(), want)
	}
	clk.Advance(11 * time.Minute)
	a.SetLatency(300 * time.Millisecond)

	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background(), ordersRead)
			if err != nil {
				t.Errorf("Token() during refresh: %v", err)
			} else if tok != old {
				t.Errorf("Token() during refresh returned a new token before the refresh could finish")
			}
		}()
	}
	wg.Wait()
	fresh := waitForNewToken(t, c, old)
	if fresh.ExpiresAt().Before(old.ExpiresAt()) {
		t.Errorf("refreshed token expires %v, before the old one (%v)", fresh.ExpiresAt(), old.ExpiresAt())
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("token requests = %d, want 2 (the first fetch and exactly one refresh)", got)
	}
}

// waitForNewToken polls until c serves a token other than old.
func waitForNewToken(t *testing.T, c *credentials.Client, old *credentials.Token) *credentials.Token {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tok, err := c.Token(context.Background(), ordersRead)
		if err != nil {
			t.Fatalf("Token(): %v", err)
		}
		if tok != old {
			return tok
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the background refresh never delivered a new token")
	return nil
}

// waitForRequests polls until the authority has seen n token requests.
func waitForRequests(t *testing.T, a *agentidtest.Authority, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.Requests(grantCC) < n {
		if time.Now().After(deadline) {
			t.Fatalf("authority saw %d token requests, want %d", a.Requests(grantCC), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailedRefreshKeepsServingThenFailsOncePerCaller(t *testing.T) {
	clk := newFakeClock()
	a, c := newSecretClient(t, []agentidtest.Option{agentidtest.WithRefreshIn(10 * time.Minute)},
		credentials.WithClock(clk.Now), credentials.WithRetry(2, 5*time.Second))
	old, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	a.FailNext(1_000_000, 500, agentidtest.OAuthError{Code: "server_error", Description: "down"})
	clk.Advance(11 * time.Minute)

	if tok, err := c.Token(context.Background(), ordersRead); err != nil || tok != old {
		t.Fatalf("Token() past the refresh point = %v, %v; want the valid token", tok, err)
	}
	waitForRequests(t, a, 3) // the first fetch, then one refresh of 2 attempts
	time.Sleep(50 * time.Millisecond)
	for range 100 {
		if tok, err := c.Token(context.Background(), ordersRead); err != nil || tok != old {
			t.Fatalf("Token() after a failed refresh = %v, %v; want the still-valid token", tok, err)
		}
	}
	if got := a.Requests(grantCC); got != 3 {
		t.Errorf("token requests after a failed refresh = %d, want 3 (no retry before the backoff deadline)", got)
	}

	// Past expiry: every caller gets the error, once, from one flight.
	clk.Advance(time.Hour)
	const callers = 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background(), ordersRead)
			if err == nil {
				t.Errorf("Token() past expiry returned %v, want an error", tok)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var te *credentials.TokenError
		if !errors.As(err, &te) || te.StatusCode != 500 {
			t.Errorf("Token() past expiry error = %v, want a *TokenError with status 500", err)
		}
	}
	if got := a.Requests(grantCC); got > 5 {
		t.Errorf("token requests after %d callers hit an expired key = %d, want at most 5 (one flight of 2 attempts)", callers, got)
	}
	before := a.Requests(grantCC)
	if _, err := c.Token(context.Background(), ordersRead); err == nil {
		t.Error("Token() right after a failed flight succeeded, want the same error")
	}
	if got := a.Requests(grantCC); got != before {
		t.Errorf("a call within the key's backoff sent %d request(s), want 0", got-before)
	}
}

func TestKeysNeverShared(t *testing.T) {
	_, c := newSecretClient(t, []agentidtest.Option{agentidtest.WithTenantID("tenant-a")})
	base := credentials.Request{Scopes: []string{"api://orders/.default"}}
	tests := []struct {
		name  string
		other credentials.Request
		same  bool
	}{
		{"identical", credentials.Request{Scopes: []string{"api://orders/.default"}}, true},
		{"scope repeated", credentials.Request{Scopes: []string{"api://orders/.default", "api://orders/.default"}}, true},
		{"other scope", credentials.Request{Scopes: []string{"api://billing/.default"}}, false},
		{"scope case", credentials.Request{Scopes: []string{"api://Orders/.default"}}, false},
		{"resource", credentials.Request{Scopes: []string{"api://orders/.default"}, Resource: "api://orders"}, false},
		{"claims", credentials.Request{Scopes: []string{"api://orders/.default"}, Claims: `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`}, false},
		{"tenant", credentials.Request{Scopes: []string{"api://orders/.default"}, TenantID: "tenant-a"}, false},
	}
	baseTok, err := c.Token(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := c.Token(context.Background(), tt.other)
			if err != nil {
				t.Fatalf("Token(%+v): %v", tt.other, err)
			}
			if got := tok == baseTok; got != tt.same {
				t.Errorf("Token(%+v) shares the token of %+v: %v, want %v", tt.other, base, got, tt.same)
			}
		})
	}
}

func TestScopeOrderDoesNotMatter(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	// Generic authority: several non-.default scopes with a resource.
	c, err := credentials.NewClient(credentials.OIDC(a.Issuer()), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r1 := credentials.Request{Scopes: []string{"orders.read", "orders.write"}, Resource: "https://orders.example"}
	r2 := credentials.Request{Scopes: []string{"orders.write", "orders.read", "orders.write"}, Resource: "https://orders.example"}
	t1, err := c.Token(context.Background(), r1)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := c.Token(context.Background(), r2)
	if err != nil {
		t.Fatal(err)
	}
	if t1 != t2 {
		t.Error("the same scopes in another order got another token")
	}
	if got := a.Requests(grantCC); got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
}

func TestEvictionKeepsPartitionAtBound(t *testing.T) {
	const bound = 5
	a, c := newSecretClient(t, nil, credentials.WithCacheSize(bound))
	req := func(i int) credentials.Request {
		return credentials.Request{Scopes: []string{fmt.Sprintf("api://r%d/.default", i)}}
	}
	for i := range 20 {
		if _, err := c.Token(context.Background(), req(i)); err != nil {
			t.Fatal(err)
		}
		if n := credentials.CacheLen(c); n > bound {
			t.Fatalf("after %d distinct requests the cache holds %d entries, want at most %d", i+1, n, bound)
		}
	}
	// The most recent entries are still there: no request for them.
	before := a.Requests(grantCC)
	for i := 20 - bound; i < 20; i++ {
		if _, err := c.Token(context.Background(), req(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Requests(grantCC) - before; got != 0 {
		t.Errorf("requests for the %d most recent keys = %d, want 0 (they are cached)", bound, got)
	}
	// The oldest was evicted.
	if _, err := c.Token(context.Background(), req(0)); err != nil {
		t.Fatal(err)
	}
	if got := a.Requests(grantCC) - before; got != 1 {
		t.Errorf("requests for the oldest key = %d, want 1 (it was evicted)", got)
	}
}

func TestSuspendedClockNeverServesExpiredToken(t *testing.T) {
	clk := newFakeClock()
	a, c := newSecretClient(t, nil, credentials.WithClock(clk.Now))
	old, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	// The machine sleeps for two hours: nothing runs, then the wall clock
	// jumps. The very next call must not get the old token.
	clk.Advance(2 * time.Hour)
	tok, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	if tok == old || !old.Expired(clk.Now()) {
		t.Fatalf("after a 2h suspend Token() served the token that expired at %v (now %v)", old.ExpiresAt(), clk.Now())
	}
	if tok.Expired(clk.Now()) {
		t.Errorf("after a 2h suspend Token() = a token expiring at %v, already expired at %v", tok.ExpiresAt(), clk.Now())
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
}

func TestExpirySkew(t *testing.T) {
	tests := []struct {
		name     string
		skew     time.Duration
		lifetime time.Duration
		advance  time.Duration
		refetch  bool
	}{
		{"default skew, inside", 5 * time.Minute, time.Hour, 54 * time.Minute, false},
		{"default skew, past", 5 * time.Minute, time.Hour, 55*time.Minute + time.Second, true},
		{"custom skew, inside", 10 * time.Minute, time.Hour, 49 * time.Minute, false},
		{"custom skew, past", 10 * time.Minute, time.Hour, 50*time.Minute + time.Second, true},
		{"short token keeps half", 5 * time.Minute, 4 * time.Minute, 119 * time.Second, false},
		{"short token past half", 5 * time.Minute, 4 * time.Minute, 121 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			a, c := newSecretClient(t, []agentidtest.Option{agentidtest.WithTokenLifetime(tt.lifetime)},
				credentials.WithClock(clk.Now), credentials.WithExpirySkew(tt.skew))
			first, err := c.Token(context.Background(), ordersRead)
			if err != nil {
				t.Fatal(err)
			}
			clk.Advance(tt.advance)
			tok, err := c.Token(context.Background(), ordersRead)
			if err != nil {
				t.Fatal(err)
			}
			// A background refresh may run inside the window; a blocking
			// refetch is what the skew decides. Wait for any refresh to end.
			time.Sleep(20 * time.Millisecond)
			if got := tok != first; got != tt.refetch {
				t.Errorf("after %v of a %v token with skew %v, new token = %v, want %v (requests %d)", tt.advance, tt.lifetime, tt.skew, got, tt.refetch, a.Requests(grantCC))
			}
		})
	}
}

func TestInvalidate(t *testing.T) {
	a, c := newSecretClient(t, nil)
	t1, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	c.Invalidate(ordersRead, credentials.NewToken("other", "", time.Now().Add(time.Hour)))
	if t2, _ := c.Token(context.Background(), ordersRead); t2 != t1 {
		t.Error("Invalidate with a token that is not the cached one dropped the cached token")
	}
	c.Invalidate(ordersRead, t1)
	t3, err := c.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	if t3 == t1 {
		t.Error("after Invalidate(req, tok) Token() returned the invalidated token")
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("token requests = %d, want 2", got)
	}
}

func TestPreAcquireHookDenies(t *testing.T) {
	hookErr := errors.New("risk too high")
	var seen []credentials.Request
	a, c := newSecretClient(t, nil, credentials.WithPreAcquire(func(_ context.Context, r credentials.Request) error {
		seen = append(seen, r)
		return hookErr
	}))
	_, err := c.Token(context.Background(), ordersRead)
	if !errors.Is(err, credentials.ErrPolicyDenied) || !errors.Is(err, hookErr) {
		t.Errorf("Token() error = %v, want one matching ErrPolicyDenied and the hook's error", err)
	}
	if got := a.Requests(""); got != 0 {
		t.Errorf("a denied token request reached the authority %d time(s), want 0", got)
	}
	if len(seen) != 1 || seen[0].Scopes[0] != "api://orders/.default" {
		t.Errorf("the hook saw %v, want the request", seen)
	}
}

func TestInvalidRequestsFailBeforeTheNetwork(t *testing.T) {
	a, c := newSecretClient(t, nil)
	tests := []struct {
		name string
		req  credentials.Request
	}{
		{"nothing", credentials.Request{}},
		{"empty scope", credentials.Request{Scopes: []string{""}}},
		{"scope with space", credentials.Request{Scopes: []string{"a b"}}},
		{"claims not JSON", credentials.Request{Scopes: []string{"x/.default"}, Claims: "{"}},
		{"tenant path traversal", credentials.Request{Scopes: []string{"x/.default"}, TenantID: "../other"}},
		{"tenant with slash", credentials.Request{Scopes: []string{"x/.default"}, TenantID: "a/b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Token(context.Background(), tt.req); !errors.Is(err, credentials.ErrInvalidRequest) {
				t.Errorf("Token(%+v) error = %v, want ErrInvalidRequest", tt.req, err)
			}
		})
	}
	if got := a.Requests(""); got != 0 {
		t.Errorf("invalid requests reached the authority %d time(s), want 0", got)
	}
}

// recordingStore is a Store that keeps everything it was given.
type recordingStore struct {
	*credentials.MemoryStore
	mu   sync.Mutex // guards seen
	seen []string
}

func (s *recordingStore) Put(ctx context.Context, key string, blob []byte, exp time.Time) error {
	s.mu.Lock()
	s.seen = append(s.seen, key, string(blob))
	s.mu.Unlock()
	return s.MemoryStore.Put(ctx, key, blob, exp)
}

func TestStoreSharesTokensBetweenReplicas(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	store := &recordingStore{MemoryStore: credentials.NewMemoryStore()}
	key := []byte(strings.Repeat("k", 32))
	replica := func() *credentials.Client {
		c, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)), credentials.WithStore(store, key))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	r1, r2 := replica(), replica()
	t1, err := r1.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	t2, err := r2.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	if t1.AccessToken() != t2.AccessToken() {
		t.Error("the second replica fetched its own token instead of reading the store")
	}
	if got := a.Requests(grantCC); got != 1 {
		t.Errorf("token requests for two replicas sharing a store = %d, want 1", got)
	}
	store.mu.Lock()
	for _, s := range store.seen {
		for _, secret := range []string{t1.AccessToken(), "api://orders"} {
			if strings.Contains(s, secret) {
				t.Errorf("the store received %q in clear", secret)
			}
		}
	}
	store.mu.Unlock()
	// A replica with another key cannot read the blobs.
	other, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)), credentials.WithStore(store, []byte(strings.Repeat("x", 32))))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Token(context.Background(), ordersRead); err != nil {
		t.Fatal(err)
	}
	if got := a.Requests(grantCC); got != 2 {
		t.Errorf("a replica with the wrong store key: token requests = %d, want 2", got)
	}
}

func TestCloseConcurrentSafe(t *testing.T) {
	before := runtime.NumGoroutine()
	clk := newFakeClock()
	a, c := newSecretClient(t, []agentidtest.Option{agentidtest.WithRefreshIn(time.Minute)}, credentials.WithClock(clk.Now))
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatal(err)
	}
	// Leave a background refresh hanging on a slow authority.
	a.SetLatency(time.Hour)
	clk.Advance(2 * time.Minute)
	if _, err := c.Token(context.Background(), ordersRead); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
		}()
	}
	wg.Wait()
	if _, err := c.Token(context.Background(), ordersRead); !errors.Is(err, credentials.ErrClosed) {
		t.Errorf("Token() after Close = %v, want ErrClosed", err)
	}
	a.SetLatency(0)
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines after Close = %d, want at most %d:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
