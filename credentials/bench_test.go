package credentials_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

type staticTokenSource struct{ t *oauth2.Token }

func (s staticTokenSource) Token() (*oauth2.Token, error) { return s.t, nil }

// BenchmarkTokenCacheHit measures a cache hit: passport's Source.Token on
// a warm key against x/oauth2's ReuseTokenSource over a valid token, the
// comparison. The names are fixed so that runs can be compared.
func BenchmarkTokenCacheHit(b *testing.B) {
	a := agentidtest.NewAuthority(b)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		b.Fatal(err)
	}
	client, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(b, testSecret)))
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	req := credentials.Request{Scopes: []string{"api://orders/.default"}}
	warm, err := client.Token(ctx, req)
	if err != nil {
		b.Fatal(err)
	}
	var src credentials.Source = client
	reuse := oauth2.ReuseTokenSource(nil, staticTokenSource{&oauth2.Token{AccessToken: warm.AccessToken(), TokenType: "Bearer", Expiry: warm.ExpiresAt()}})

	b.Run("passport", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := src.Token(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("passport-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.Token(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("x-oauth2-reuse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reuse.Token(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("x-oauth2-reuse-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := reuse.Token(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	if n := a.Requests("client_credentials"); n != 1 {
		b.Fatalf("the benchmark sent %d token requests, want 1 (every call a cache hit)", n)
	}
}

// BenchmarkColdCache measures a miss that one request satisfies for many
// concurrent callers.
func BenchmarkColdCache(b *testing.B) {
	a := agentidtest.NewAuthority(b)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(b, testSecret)), credentials.WithExpirySkew(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Token(context.Background(), ordersRead); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
