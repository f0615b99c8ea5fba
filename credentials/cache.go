package credentials

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/clock"
	"github.com/agentpassport/passport/internal/retry"
)

// The cache of one token source ("partition").
//
// Every token a source holds lives in an entry of its partition. A cache
// hit is: hash the request, probe the lock-free table, load the entry's
// immutable tokenState, read the wall clock, compare. No lock, no
// allocation. Everything else happens on the miss path, which is
// serialised per entry by entry.mu and per partition by partition.mu
// (never while doing I/O):
//
//   - a miss (no token, or a token past its hard expiry) joins the
//     entry's flight or starts one: one goroutine fetches, every caller
//     waits for its result (or for its own context);
//   - a hit past the refresh point starts a background flight, once, and
//     goes on serving the valid token;
//   - a failed flight records the error and a backoff deadline per entry:
//     callers arriving before it get the same error without a request, a
//     still-valid token keeps being served, and the background refresh is
//     tried again at the deadline.

// fetchFunc asks the authority for the token of key k. prev is the
// entry's last state (possibly expired, for its refresh token), nil on a
// cold miss. arg is what the caller passed along that is not part of the
// key, such as the user assertion whose hash is the key's subject.
type fetchFunc func(ctx context.Context, k *cacheKey, prev *tokenState, arg string) (*tokenState, error)

// checkFunc vets the arg of a request on the miss path, before any
// network call; its error is returned as is.
type checkFunc func(arg string) error

// tokenState is an immutable snapshot of an entry's token.
type tokenState struct {
	tok          *Token
	expiresAt    int64  // µs; served while now < expiresAt (the token's exp less the skew)
	refreshAt    int64  // µs; a background refresh starts once now >= refreshAt
	refreshToken string // for flows that receive one; never leaves the package
}

type entry struct {
	hash uint64
	key  cacheKey

	state      atomic.Pointer[tokenState]
	usedSec    atomic.Int64 // last use, in units of 2^20 µs (~1 s), for the LRU
	refreshing atomic.Bool  // set by the one hit that starts a background refresh
	busy       atomic.Bool  // a flight is running; the entry is not evicted

	mu        sync.Mutex // guards fl, failures, lastErr, notBefore
	fl        *flight
	failures  int
	lastErr   error
	notBefore int64 // µs; no new flight before this after a failure

	prev, next *entry // LRU list; guarded by partition.mu
	live       bool   // in the table; guarded by partition.mu
}

// flight is one fetch in progress for an entry.
type flight struct {
	done       chan struct{}
	parent     trace.SpanContext // of the caller that started it, for its span
	cancel     context.CancelFunc
	background bool // started by a refresh, not by waiting callers
	waiters    int  // callers waiting; guarded by entry.mu
	tok        *Token
	err        error // tok and err are written before done is closed
}

// partition is the cache of one source.
type partition struct {
	name  string // names the source in store keys
	seed  maphash.Seed
	bound int
	clock func() time.Time // nil: the real wall clock
	skew  int64            // µs
	fetch fetchFunc
	check checkFunc // may be nil
	hook  func(context.Context, Request) error
	life  *lifecycle
	store *sealedStore

	// For spans: what the partition fetches, for which client.
	tracer   trace.Tracer
	flow     string
	clientID string

	table atomic.Pointer[table]
	// last is the entry most recently looked up on the miss path. Most
	// sources serve one or a few keys; checking last first skips hashing
	// and probing. It is written only on the miss path, so readers on the
	// hit path never contend on it.
	last atomic.Pointer[entry]

	mu        sync.Mutex // guards writes to table, the LRU list, size, lastSweep
	lru       entry      // sentinel of the LRU list: lru.next is the most recent
	size      int
	lastSweep int64
}

// sweepInterval is the least time between two sweeps of expired entries.
const sweepInterval = 60 * 1e6

func newPartition(name string, cfg *config, bound int, life *lifecycle, fetch fetchFunc) *partition {
	p := &partition{
		name:   name,
		seed:   maphash.MakeSeed(),
		bound:  bound,
		clock:  cfg.clock,
		skew:   cfg.skew.Microseconds(),
		fetch:  fetch,
		hook:   cfg.hook,
		life:   life,
		store:  cfg.sealedStore(),
		tracer: tracerFor(cfg),
	}
	p.lru.next, p.lru.prev = &p.lru, &p.lru
	p.table.Store(newTable(8))
	return p
}

func (p *partition) now() int64 {
	if p.clock == nil {
		return clock.Now()
	}
	return clock.Micros(p.clock())
}

// get returns the token for req and subj, from the cache when it holds a
// valid one. req and subj do not escape.
func (p *partition) get(ctx context.Context, req *Request, subj *subject, arg string) (*Token, error) {
	if p.life.closed.Load() {
		return nil, ErrClosed
	}
	if e := p.last.Load(); e != nil && e.key.matchesExactly(req, subj) {
		if tok := p.serve(e, arg); tok != nil {
			return tok, nil
		}
	}
	h, unique := hashRequest(p.seed, req, subj)
	if e := p.table.Load().find(h, req, subj, unique); e != nil {
		if tok := p.serve(e, arg); tok != nil {
			return tok, nil
		}
	}
	return p.miss(ctx, req, subj, h, unique, arg)
}

// serve returns e's token if it is valid now, starting a background
// refresh past its refresh point; nil if e has no valid token.
func (p *partition) serve(e *entry, arg string) *Token {
	st := e.state.Load()
	if st == nil {
		return nil
	}
	now := p.now()
	if now >= st.expiresAt {
		return nil
	}
	if now >= st.refreshAt {
		p.refreshInBackground(e, arg)
	}
	if sec := now >> 20; e.usedSec.Load() != sec {
		p.touch(e, sec)
	}
	return st.tok
}

// miss is the slow path of get.
func (p *partition) miss(ctx context.Context, req *Request, subj *subject, h uint64, unique int, arg string) (*Token, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	if p.check != nil {
		if err := p.check(arg); err != nil {
			return nil, err
		}
	}
	if p.hook != nil {
		if err := p.hook(ctx, *req); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrPolicyDenied, err)
		}
	}
	e := p.lookupOrInsert(req, subj, h, unique)
	if p.last.Load() != e {
		p.last.Store(e)
	}
	e.mu.Lock()
	now := p.now()
	if st := e.state.Load(); st != nil && now < st.expiresAt {
		e.mu.Unlock()
		return st.tok, nil
	}
	f := e.fl
	if f == nil {
		if e.lastErr != nil && now < e.notBefore {
			err := e.lastErr
			e.mu.Unlock()
			return nil, err
		}
		var ok bool
		if f, ok = p.startFlight(e, false, arg, trace.SpanContextFromContext(ctx)); !ok {
			e.mu.Unlock()
			return nil, ErrClosed
		}
	}
	f.waiters++
	e.mu.Unlock()

	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		e.mu.Lock()
		f.waiters--
		if f.waiters == 0 && !f.background {
			f.cancel()
		}
		e.mu.Unlock()
		return nil, ctx.Err()
	}
}

// refreshInBackground starts a background flight for e unless one runs.
func (p *partition) refreshInBackground(e *entry, arg string) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fl != nil {
		e.refreshing.Store(false)
		return
	}
	if _, ok := p.startFlight(e, true, arg, trace.SpanContext{}); !ok {
		e.refreshing.Store(false)
	}
}

// flightTimeout bounds a flight, whatever its retry policy.
const flightTimeout = 2 * time.Minute

// startFlight starts a fetch for e. The caller holds e.mu. It reports
// false when the partition's source is closed.
func (p *partition) startFlight(e *entry, background bool, arg string, parent trace.SpanContext) (*flight, bool) {
	ctx, cancel := context.WithTimeout(p.life.ctx, flightTimeout)
	f := &flight{done: make(chan struct{}), cancel: cancel, background: background, parent: parent}
	prev := e.state.Load()
	if !p.life.start(func() { p.run(ctx, e, f, prev, arg) }) {
		cancel()
		return nil, false
	}
	e.fl = f
	e.busy.Store(true)
	return f, true
}

// run is the body of a flight.
func (p *partition) run(ctx context.Context, e *entry, f *flight, prev *tokenState, arg string) {
	defer f.cancel()
	ctx, span := p.startSpan(ctx, f.parent, &e.key, f.background)
	st, err := p.load(ctx, e, prev)
	if err == nil && st == nil {
		st, err = p.fetch(ctx, &e.key, prev, arg)
		if err == nil {
			p.save(ctx, e, st)
		}
	}
	now := p.now()
	e.mu.Lock()
	switch {
	case err == nil:
		e.state.Store(st)
		e.failures, e.lastErr, e.notBefore = 0, nil, 0
		f.tok = st.tok
	case ctx.Err() != nil && p.life.closed.Load():
		err = ErrClosed
	case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
		// Every waiter left: nobody sees this error, and it says nothing
		// about the authority. No backoff.
	default:
		e.failures++
		e.lastErr = err
		e.notBefore = now + backoffAfter(e.failures, retry.After(err))
		switch cur := e.state.Load(); {
		case isInvalidGrant(err):
			e.state.Store(nil)
		case cur != nil && now < cur.expiresAt:
			// Keep serving the valid token; try again at the deadline.
			next := *cur
			next.refreshAt = min(e.notBefore, cur.expiresAt)
			e.state.Store(&next)
		}
	}
	f.err = err
	endSpan(span, err)
	e.fl = nil
	e.busy.Store(false)
	e.refreshing.Store(false)
	e.mu.Unlock()
	close(f.done)
}

// backoffAfter is the shared backoff of an entry after n failures in a
// row: 1 s doubling to 60 s, ±20 % jitter, at least a Retry-After hint.
func backoffAfter(n int, hint time.Duration) int64 {
	d := time.Second << min(n-1, 6)
	d = min(d, time.Minute)
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return max(d, hint).Microseconds()
}

func isInvalidGrant(err error) bool {
	var te *TokenError
	return errors.As(err, &te) && te.Code == "invalid_grant"
}

// lookupOrInsert returns the entry for the key, creating it (and making
// room for it) when absent.
func (p *partition) lookupOrInsert(req *Request, subj *subject, h uint64, unique int) *entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.table.Load()
	if e := t.find(h, req, subj, unique); e != nil {
		return e
	}
	now := p.now()
	if p.size >= p.bound {
		if now-p.lastSweep >= sweepInterval {
			p.sweepLocked(now)
		}
		for p.size >= p.bound && p.evictOneLocked() {
		}
	}
	e := &entry{hash: h}
	e.setKey(req, subj)
	e.usedSec.Store(now >> 20)
	if t = p.table.Load(); t.full() {
		t = t.rebuilt(p.size + 1)
		p.table.Store(t)
	}
	t.insert(e)
	e.live = true
	p.size++
	p.pushFrontLocked(e)
	return e
}

// touch marks e as used, moving it to the front of the LRU list. It runs
// at most about once a second per entry (usedSec changes).
func (p *partition) touch(e *entry, sec int64) {
	old := e.usedSec.Load()
	if old == sec || !e.usedSec.CompareAndSwap(old, sec) {
		return
	}
	p.mu.Lock()
	if e.live {
		p.unlinkLocked(e)
		p.pushFrontLocked(e)
	}
	p.mu.Unlock()
}

func (p *partition) pushFrontLocked(e *entry) {
	e.prev, e.next = &p.lru, p.lru.next
	p.lru.next.prev = e
	p.lru.next = e
}

func (p *partition) unlinkLocked(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (p *partition) removeLocked(e *entry) {
	p.last.CompareAndSwap(e, nil)
	p.table.Load().remove(e)
	p.unlinkLocked(e)
	e.live = false
	p.size--
}

// evictOneLocked removes the least recently used entry that has no
// flight running. It reports false when there is none.
func (p *partition) evictOneLocked() bool {
	for e := p.lru.prev; e != &p.lru; e = e.prev {
		if !e.busy.Load() {
			p.removeLocked(e)
			return true
		}
	}
	return false
}

// sweepLocked removes every entry with no valid token and no flight.
func (p *partition) sweepLocked(now int64) {
	p.lastSweep = now
	for e := p.lru.next; e != &p.lru; {
		next := e.next
		if st := e.state.Load(); (st == nil || now >= st.expiresAt) && !e.busy.Load() {
			p.removeLocked(e)
		}
		e = next
	}
}

// invalidate drops the token of the key, if it is tok (or any token when
// tok is nil), so that the next get fetches a new one.
func (p *partition) invalidate(req Request, subj *subject, tok *Token) {
	h, unique := hashRequest(p.seed, &req, subj)
	e := p.table.Load().find(h, &req, subj, unique)
	if e == nil {
		return
	}
	e.mu.Lock()
	if st := e.state.Load(); st != nil && (tok == nil || st.tok == tok) {
		e.state.Store(nil)
		if p.store != nil {
			p.store.delete(p.life.ctx, storeKey(p.name, &e.key))
		}
	}
	e.mu.Unlock()
}

// len returns the number of entries.
func (p *partition) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.size
}

// newState turns a token response received at now into a tokenState.
//
// The token is served until its expiry less the skew (at most half its
// lifetime, so short-lived tokens are still cached). It is refreshed in
// the background from refresh_in when the server sent one; else from half
// its lifetime when that is over two hours (as MSAL does); else shortly
// before the skewed expiry (a tenth of the lifetime, at most 2 minutes),
// so that callers do not block on the fetch of the next token.
func (p *partition) newState(now int64, tok *Token, lifetime, refreshIn time.Duration, refreshToken string) *tokenState {
	life := lifetime.Microseconds()
	exp := now + life
	hard := exp - min(p.skew, life/2)
	var refresh int64
	switch {
	case refreshIn > 0:
		refresh = min(now+refreshIn.Microseconds(), hard)
	case lifetime > 2*time.Hour:
		refresh = now + life/2
	default:
		refresh = hard - min(life/10, (2*time.Minute).Microseconds())
	}
	tok.expiresAt, tok.refreshAt = exp, refresh
	return &tokenState{tok: tok, expiresAt: hard, refreshAt: refresh, refreshToken: refreshToken}
}

// load returns a token from the shared store when it holds one newer
// than prev, or nil.
func (p *partition) load(ctx context.Context, e *entry, prev *tokenState) (*tokenState, error) {
	if p.store == nil {
		return nil, nil
	}
	st := p.store.get(ctx, storeKey(p.name, &e.key), p.skew)
	if st == nil || p.now() >= st.expiresAt || (prev != nil && st.tok.expiresAt <= prev.tok.expiresAt) {
		return nil, nil
	}
	if st.refreshAt <= p.now() {
		return nil, nil // due for refresh: fetch
	}
	return st, nil
}

// save writes st to the shared store, if any.
func (p *partition) save(ctx context.Context, e *entry, st *tokenState) {
	if p.store != nil {
		p.store.put(ctx, storeKey(p.name, &e.key), st)
	}
}
