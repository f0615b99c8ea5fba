package credentials

import "sync/atomic"

// table is an open-addressing hash table of entries with lock-free
// lookups. Writers (insert, remove, rebuild) hold the owning partition's
// mutex; readers only load atomics, so a cache hit never waits for a
// writer. A removed entry leaves a tombstone, which lookups step over;
// rebuild drops tombstones and resizes, publishing a new table that
// readers pick up on their next lookup.
type table struct {
	mask  uint64
	slots []atomic.Pointer[entry]
	used  int // slots that are not nil (live entries and tombstones); guarded by partition.mu
}

// tombstone marks a slot whose entry was removed.
var tombstone = new(entry)

func newTable(capacity int) *table {
	n := 8
	for n < capacity {
		n <<= 1
	}
	return &table{mask: uint64(n - 1), slots: make([]atomic.Pointer[entry], n)}
}

// find returns the entry for req and subj, or nil. The table is never
// full (see full), so the probe ends at a nil slot.
func (t *table) find(h uint64, req *Request, subj *subject, unique int) *entry {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.hash == h && e != tombstone && e.key.matches(req, subj, unique) {
			return e
		}
	}
}

// full reports whether one more insert would take the table past three
// quarters of its slots.
func (t *table) full() bool { return (t.used+1)*4 > len(t.slots)*3 }

// insert puts e in the first free or tombstone slot of its probe
// sequence. The caller holds the partition's mutex and has checked that
// the table is not full and does not hold e's key.
func (t *table) insert(e *entry) {
	for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
		switch cur := t.slots[i].Load(); cur {
		case nil:
			t.used++
			t.slots[i].Store(e)
			return
		case tombstone:
			t.slots[i].Store(e)
			return
		}
	}
}

// remove replaces e by a tombstone. The caller holds the partition's
// mutex.
func (t *table) remove(e *entry) {
	for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
		cur := t.slots[i].Load()
		if cur == nil {
			return
		}
		if cur == e {
			t.slots[i].Store(tombstone)
			return
		}
	}
}

// rebuilt returns a new table holding the live entries of t, sized for
// live entries at no more than half load.
func (t *table) rebuilt(live int) *table {
	nt := newTable(live * 2)
	for i := range t.slots {
		if e := t.slots[i].Load(); e != nil && e != tombstone {
			nt.insert(e)
		}
	}
	return nt
}
