package credentials

import (
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestTableConcurrentSafe inserts, removes and rebuilds under one writer
// while readers look up keys, and checks every lookup against a model.
func TestTableConcurrentSafe(t *testing.T) {
	seed := maphash.MakeSeed()
	const keys = 500
	reqs := make([]Request, keys)
	entries := make([]*entry, keys)
	for i := range reqs {
		reqs[i] = Request{Scopes: []string{fmt.Sprintf("api://r%d/.default", i)}}
		h, _ := hashRequest(seed, &reqs[i], &noSubject)
		entries[i] = &entry{hash: h}
		entries[i].setKey(&reqs[i], &noSubject)
	}
	var mu sync.Mutex // plays partition.mu
	var cur = newTable(8)
	tbl := func() *table { mu.Lock(); defer mu.Unlock(); return cur }

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := rand.IntN(keys)
				h, u := hashRequest(seed, &reqs[i], &noSubject)
				if e := tbl().find(h, &reqs[i], &noSubject, u); e != nil && e != entries[i] {
					t.Errorf("find(key %d) returned the entry of another key", i)
					return
				}
			}
		}()
	}
	live := map[int]bool{}
	for round := range 20_000 {
		i := rand.IntN(keys)
		mu.Lock()
		if live[i] {
			cur.remove(entries[i])
			delete(live, i)
		} else {
			if cur.full() {
				cur = cur.rebuilt(len(live) + 1)
			}
			cur.insert(entries[i])
			live[i] = true
		}
		mu.Unlock()
		if round%1000 == 0 {
			for k := range keys {
				h, u := hashRequest(seed, &reqs[k], &noSubject)
				got := tbl().find(h, &reqs[k], &noSubject, u) != nil
				if got != live[k] {
					t.Fatalf("round %d: find(key %d) present = %v, want %v", round, k, got, live[k])
				}
			}
		}
	}
	close(stop)
	wg.Wait()
}

func TestHashRequestIsASetOfScopes(t *testing.T) {
	seed := maphash.MakeSeed()
	h := func(r Request) uint64 { v, _ := hashRequest(seed, &r, &noSubject); return v }
	a := h(Request{Scopes: []string{"a", "b", "c"}})
	for _, perm := range [][]string{{"c", "b", "a"}, {"b", "a", "c", "a"}, {"a", "a", "b", "c", "c"}} {
		if got := h(Request{Scopes: perm}); got != a {
			t.Errorf("hash(%v) != hash([a b c])", perm)
		}
	}
	if h(Request{Scopes: []string{"a"}, Resource: "x"}) == h(Request{Scopes: []string{"a"}, Claims: "x"}) {
		t.Error("resource and claims with the same value hash alike")
	}
}

func TestMatchesExactly(t *testing.T) {
	var e entry
	e.setKey(&Request{Scopes: []string{"b", "a"}}, &noSubject)
	k := &e.key
	other := subjectOf("subject")
	tests := []struct {
		req  Request
		want bool
	}{
		{Request{Scopes: []string{"a", "b"}}, true},
		{Request{Scopes: []string{"b", "a"}}, true},
		{Request{Scopes: []string{"a", "a"}}, false},
		{Request{Scopes: []string{"a"}}, false},
		{Request{Scopes: []string{"a", "b"}, TenantID: "t"}, false},
	}
	for _, tt := range tests {
		if got := k.matchesExactly(&tt.req, &noSubject); got != tt.want {
			t.Errorf("matchesExactly(%v) = %v, want %v", tt.req, got, tt.want)
		}
		if got := k.matchesExactly(&tt.req, &other); got {
			t.Errorf("matchesExactly(%v, subject) = true, want false", tt.req)
		}
	}
}
