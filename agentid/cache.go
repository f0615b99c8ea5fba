package agentid

import (
	"hash/maphash"
	"sync/atomic"
)

// tokenCache holds verified tokens until their exp, in a fixed table of
// n slots, each holding at most one token: a token may sit in one of two
// slots chosen by a seeded hash of it (two-way set-associative). A hit
// costs a hash of the token's last hashedSuffix bytes (its signature: as
// unique as the token, and much shorter), at most two atomic loads and a
// comparison of the full token; it takes no lock and allocates nothing. Inserting into a taken
// pair evicts an expired entry, else the one that expires first. It is
// safe for concurrent use.
type tokenCache struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry]
}

// hashedSuffix is how many of a token's last bytes are hashed: part of
// its signature. Tokens that share them only share slots; a hit always
// compares the full token.
const hashedSuffix = 64

// hash returns the slot hash of token.
func (c *tokenCache) hash(token string) uint64 {
	if len(token) > hashedSuffix {
		token = token[len(token)-hashedSuffix:]
	}
	return maphash.String(c.seed, token)
}

// cacheEntry is one verified token. It is immutable.
type cacheEntry struct {
	hash  uint64     // maphash of token
	token string     // compared in full on a hit
	exp   int64      // microseconds since the epoch: the token's exp
	p     *Principal // shared by every hit
}

// newTokenCache returns a cache of n ≥ 1 slots.
func newTokenCache(n int) *tokenCache {
	return &tokenCache{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cacheEntry], n)}
}

// pair returns the two slots a hash may occupy (the same one when the
// table has one slot).
func (c *tokenCache) pair(h uint64) (i, j uint64) {
	n := uint64(len(c.slots))
	i = h % n
	return i, (i + 1) % n
}

// get returns the Principal of token if it is cached and its exp is after
// now (microseconds since the epoch), else nil.
func (c *tokenCache) get(token string, now int64) *Principal {
	h := c.hash(token)
	i, j := c.pair(h)
	if e := c.slots[i].Load(); e != nil && e.hash == h && now < e.exp && e.token == token {
		return e.p
	}
	if e := c.slots[j].Load(); e != nil && e.hash == h && now < e.exp && e.token == token {
		return e.p
	}
	return nil
}

// put caches p for token until exp (microseconds since the epoch).
func (c *tokenCache) put(token string, p *Principal, exp, now int64) {
	if now >= exp {
		return
	}
	h := c.hash(token)
	i, j := c.pair(h)
	slot := &c.slots[i]
	a, b := c.slots[i].Load(), c.slots[j].Load()
	switch {
	case a == nil || a.hash == h || now >= a.exp:
	case b == nil || b.hash == h || now >= b.exp:
		slot = &c.slots[j]
	case b.exp < a.exp:
		slot = &c.slots[j]
	}
	slot.Store(&cacheEntry{hash: h, token: token, exp: exp, p: p})
}

// clear removes every entry.
func (c *tokenCache) clear() {
	for i := range c.slots {
		c.slots[i].Store(nil)
	}
}

// len returns the number of entries, expired or not.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.slots {
		if c.slots[i].Load() != nil {
			n++
		}
	}
	return n
}
