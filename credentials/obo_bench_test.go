package credentials_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

// BenchmarkOBOCacheHit measures an on-behalf-of cache hit with 10 000
// users in the cache, to be compared with BenchmarkTokenCacheHit/passport
// in the same run:
//
//   - passport: one user's OnBehalfOf (its assertion hashed once) called
//     again and again, the other 9 999 users cached beside it;
//   - passport-round-robin: every call for the next user, so that each
//     hit touches memory no recent call touched (the worst case);
//   - passport-parallel: round robin from every core;
//   - passport-per-request: OnBehalfOf built from the raw assertion on
//     every call, hashing included, as a server does per request.
//
// B/cached-user is the heap held per cached user.
func BenchmarkOBOCacheHit(b *testing.B) {
	const users = 10_000
	e := newAgentEnv(b, []agentidtest.Option{agentidtest.WithSigningAlgorithm("ES256")})
	assertions := make([]string, users)
	for i := range users {
		oid := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+1000)
		must(b, e.a.RegisterUser(oid, fmt.Sprintf("u%d@contoso.example", i)))
		tok, err := e.a.UserToken(oid, blueprintID, "access_as_user")
		must(b, err)
		assertions[i] = tok
	}
	ctx := context.Background()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	sources := make([]*credentials.OnBehalfOf, users)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < users; i += 8 {
				sources[i] = e.agent.OnBehalfOf(assertions[i])
				if _, err := sources[i].Token(ctx, ordersRead); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	e.a.Reset() // drop the authority's request log before measuring
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if n := credentials.OBOCacheLen(e.agent); n != users {
		b.Fatalf("cache holds %d entries, want %d", n, users)
	}
	perEntry := float64(m1.HeapAlloc-m0.HeapAlloc) / users

	b.Run("passport", func(b *testing.B) {
		b.ReportAllocs()
		src := sources[users/2]
		for b.Loop() {
			if _, err := src.Token(ctx, ordersRead); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(perEntry, "B/cached-user")
	})
	b.Run("passport-round-robin", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := sources[i].Token(ctx, ordersRead); err != nil {
				b.Fatal(err)
			}
			if i++; i == users {
				i = 0
			}
		}
	})
	b.Run("passport-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := sources[i].Token(ctx, ordersRead); err != nil {
					b.Fatal(err)
				}
				if i++; i == users {
					i = 0
				}
			}
		})
	})
	b.Run("passport-per-request", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := e.agent.OnBehalfOf(assertions[i]).Token(ctx, ordersRead); err != nil {
				b.Fatal(err)
			}
			if i++; i == users {
				i = 0
			}
		}
	})
	if n := e.a.Requests(grantJWTBearer); n != 0 {
		b.Fatalf("the measured loops sent %d on-behalf-of requests, want 0 (all hits)", n)
	}
}
