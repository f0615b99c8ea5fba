package credentials_test

import (
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

const (
	testClientID = "11111111-2222-3333-4444-555555555555"
	testSecret   = "s3cr3t-v@lue/with+symbols"
)

var ordersRead = credentials.Request{Scopes: []string{"api://orders/.default"}}

// fakeClock is a settable wall clock.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustSecret(t testing.TB, s string) credentials.Secret {
	t.Helper()
	sec, err := credentials.NewSecret(s)
	if err != nil {
		t.Fatalf("NewSecret: %v", err)
	}
	return sec
}

// entraAt is the Entra authority served by a.
func entraAt(a *agentidtest.Authority) credentials.Authority {
	return credentials.Entra(a.TenantID(), credentials.WithAuthorityHost(a.URL()))
}

// newSecretClient starts an authority and a client with a secret.
func newSecretClient(t testing.TB, aopts []agentidtest.Option, copts ...credentials.Option) (*agentidtest.Authority, *credentials.Client) {
	t.Helper()
	a := agentidtest.NewAuthority(t, aopts...)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	c, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(t, testSecret)), copts...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return a, c
}
