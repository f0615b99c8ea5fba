package policy

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go/types"
)

// counters holds the session counters of an engine: for rate counters,
// the times of the recent calls per (agent, action, resource); for
// totals, the running sums per (agent, session). It is bounded: at most
// cap keys, the least recently used evicted first; at most maxEvents
// call times per key; entries expire (rates after their longest window,
// totals after the session TTL) and are then empty.
//
// A decision reads the counters (values) and, when the call goes ahead,
// records it (commit). The two steps take the lock separately, so calls
// of one key that are decided at the same moment may each see the count
// without the others: a limit of n may let through n plus the number of
// such concurrent calls.
type counters struct {
	rates     []rateDecl
	totals    []totalDecl
	maxWindow int64 // ns
	ttl       int64 // ns
	cap       int
	maxEvents int

	mu   sync.Mutex // guards m and the list through root
	m    map[counterKey]*counterEntry
	root counterEntry // sentinel of the LRU list: root.next is the most recent
}

type counterKey struct {
	total          bool
	agent          string
	action, rtype  string // rates only
	resource, sess string // resource for rates, session for totals
}

type counterEntry struct {
	key        counterKey
	events     []int64 // rates: call times (unix ns), ascending
	sums       []int64 // totals: one per total counter
	expires    int64   // unix ns
	prev, next *counterEntry
}

func newCounters(cfg *config) *counters {
	if len(cfg.rates) == 0 && len(cfg.totals) == 0 {
		return nil
	}
	c := &counters{
		rates:     cfg.rates,
		totals:    cfg.totals,
		ttl:       int64(cfg.sessionTTL),
		cap:       cfg.counterCap,
		maxEvents: cfg.maxEvents,
		m:         map[counterKey]*counterEntry{},
	}
	for _, r := range cfg.rates {
		c.maxWindow = max(c.maxWindow, int64(r.window))
	}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

func rateKey(req *Request) counterKey {
	return counterKey{
		agent:    req.Subject.Agent.ID,
		action:   string(req.Action),
		rtype:    string(req.Resource.Type),
		resource: req.Resource.ID,
	}
}

func totalKey(req *Request) counterKey {
	return counterKey{total: true, agent: req.Subject.Agent.ID, sess: req.Subject.Session}
}

// argValue is the value of declared argument i, 0 when absent.
func argValue(args []types.Value, i int) int64 {
	if i < len(args) {
		if l, ok := args[i].(types.Long); ok {
			return int64(l)
		}
	}
	return 0
}

// values appends to out the value of each counter (rates first) for
// req, counting req itself.
func (c *counters) values(req *Request, args []types.Value, now time.Time, out []int64) []int64 {
	out = append(out, make([]int64, len(c.rates)+len(c.totals))...)
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rates) > 0 {
		var events []int64
		if e := c.m[rateKey(req)]; e != nil && e.expires > t {
			events = e.events
		}
		for i, r := range c.rates {
			from := t - int64(r.window)
			k := sort.Search(len(events), func(j int) bool { return events[j] > from })
			out[i] = int64(len(events)-k) + 1
		}
	}
	if len(c.totals) > 0 {
		var sums []int64
		if e := c.m[totalKey(req)]; e != nil && e.expires > t {
			sums = e.sums
		}
		for i, d := range c.totals {
			v := argValue(args, d.argIdx)
			if i < len(sums) {
				v = satAdd(v, sums[i])
			}
			out[len(c.rates)+i] = v
		}
	}
	return out
}

// commit records req, a call that goes ahead.
func (c *counters) commit(req *Request, args []types.Value, now time.Time) {
	t := now.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.rates) > 0 {
		e := c.touch(rateKey(req), t)
		at := t
		if n := len(e.events); n > 0 && e.events[n-1] > at {
			at = e.events[n-1] // the clock went back: keep the times sorted
		}
		from := at - c.maxWindow
		k := sort.Search(len(e.events), func(j int) bool { return e.events[j] > from })
		if len(e.events)-k >= c.maxEvents {
			k = len(e.events) - c.maxEvents + 1
		}
		e.events = append(slices.Delete(e.events, 0, k), at)
		e.expires = at + c.maxWindow
	}
	if len(c.totals) > 0 {
		e := c.touch(totalKey(req), t)
		if e.sums == nil {
			e.sums = make([]int64, len(c.totals))
		}
		for i, d := range c.totals {
			e.sums[i] = satAdd(e.sums[i], argValue(args, d.argIdx))
		}
		e.expires = t + c.ttl
	}
	c.evict(t)
}

// touch returns the entry of k, made most recent, creating it (or
// emptying it, when expired) as needed. c.mu is held.
func (c *counters) touch(k counterKey, t int64) *counterEntry {
	e := c.m[k]
	switch {
	case e == nil:
		e = &counterEntry{key: k}
		c.m[k] = e
	case e.expires <= t:
		e.events, e.sums = e.events[:0], nil
		c.unlink(e)
	default:
		c.unlink(e)
	}
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
	return e
}

func (c *counters) unlink(e *counterEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// evict drops the least recently used entries beyond the capacity, and
// expired entries at the cold end of the list. c.mu is held.
func (c *counters) evict(t int64) {
	for len(c.m) > 0 {
		last := c.root.prev
		if len(c.m) <= c.cap && last.expires > t {
			return
		}
		c.unlink(last)
		delete(c.m, last.key)
	}
}

// len returns the number of keys held.
func (c *counters) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// satAdd adds without wrapping around.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return 1<<63 - 1
	case a < 0 && b < 0 && s >= 0:
		return -1 << 63
	}
	return s
}
