package policy

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go/types"
)

// A context record costs a microsecond or more to build: cedar-go clones,
// sorts and hashes every record, nested ones too. Requests repeat their
// context often (the same scopes, session, arguments, counter values),
// so an engine keeps recent context records in a direct-mapped cache,
// keyed by an exact encoding of everything the record is built from:
// the attributes needed and each one's value. Equal keys build equal
// records, so a hit returns the record a miss would build. A context
// that holds a decimal or a set argument, or whose key is long, is not
// cached. Memory is bounded by the number of slots and the key size.

const (
	ctxSlots     = 1 << 10
	maxCtxKeyLen = 1 << 10
)

type ctxEntry struct {
	key []byte
	rec types.Record
	val types.Value // rec, boxed once
}

type ctxCache struct {
	seed  maphash.Seed
	slots [ctxSlots]atomic.Pointer[ctxEntry]
	// seen holds, per slot, the hash of the last key that missed: a
	// record is cached the second time its key misses, so that contexts
	// seen once cost no allocation for the cache.
	seen [ctxSlots]atomic.Uint64
}

func newCtxCache() *ctxCache { return &ctxCache{seed: maphash.MakeSeed()} }

// ctxKey appends to buf the key of the context of req for need, and
// reports whether the context may be cached.
func ctxKey(buf []byte, req *Request, need ctxNeed, now time.Time, args []types.Value, ctr []int64) ([]byte, bool) {
	s := &req.Subject
	buf = append(buf, 'x')
	buf = binary.LittleEndian.AppendUint16(buf, uint16(need))
	str := func(v string) { buf = binary.AppendUvarint(buf, uint64(len(v))); buf = append(buf, v...) }
	strs := func(l []string) {
		buf = binary.AppendUvarint(buf, uint64(len(l)))
		for _, v := range l {
			str(v)
		}
	}
	if need&needTime != 0 {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(now.UnixMilli()))
	}
	if need&needRisk != 0 {
		buf = binary.AppendVarint(buf, int64(s.Risk))
	}
	if need&needScopes != 0 {
		strs(s.Scopes)
	}
	if need&needDelegation != 0 {
		strs(s.Delegation)
	}
	if need&needUser != 0 {
		if s.User != nil {
			buf = append(buf, 1)
			str(s.User.ID)
		} else {
			buf = append(buf, 0)
		}
	}
	if need&needSourceIP != 0 {
		if ip, ok := ipAddr(s.SourceIP); ok {
			a := ip.Addr().As16()
			buf = append(buf, byte(ip.Addr().BitLen()))
			buf = append(buf, a[:]...)
		} else {
			buf = append(buf, 0)
		}
	}
	if need&needSession != 0 {
		str(s.Session)
	}
	if need&needHTTP != 0 {
		if req.HTTP != nil {
			buf = append(buf, 1)
			str(req.HTTP.Method)
			str(req.HTTP.Path)
		} else {
			buf = append(buf, 0)
		}
	}
	ok := true
	if need&needArgs != 0 {
		buf, ok = argsKey(buf, args)
	}
	if need&needCounters != 0 {
		buf = countersKey(buf, ctr)
	}
	return buf, ok && len(buf) <= maxCtxKeyLen
}

// argsKey appends the key of the record of args, and reports whether it
// may be cached: only Long, String and Bool values are.
func argsKey(buf []byte, args []types.Value) ([]byte, bool) {
	buf = append(buf, 'a')
	for _, v := range args {
		switch x := v.(type) {
		case nil:
			buf = append(buf, 0)
		case types.Long:
			buf = append(buf, 'L')
			buf = binary.AppendVarint(buf, int64(x))
		case types.String:
			buf = append(buf, 'S')
			buf = binary.AppendUvarint(buf, uint64(len(x)))
			buf = append(buf, x...)
		case types.Boolean:
			buf = append(buf, 'B')
			if x {
				buf = append(buf, 1)
			} else {
				buf = append(buf, 0)
			}
		default:
			return buf, false
		}
	}
	return buf, len(buf) <= maxCtxKeyLen
}

// countersKey appends the key of the record of the counter values ctr.
func countersKey(buf []byte, ctr []int64) []byte {
	buf = append(buf, 'c')
	for _, n := range ctr {
		buf = binary.AppendVarint(buf, n)
	}
	return buf
}

// record returns the record cached under key, else built by build and
// cached, as a record and as a Value.
func (c *ctxCache) record(key []byte, build func() types.Record) (types.Record, types.Value) {
	h := maphash.Bytes(c.seed, key)
	i := h % ctxSlots
	if e := c.slots[i].Load(); e != nil && bytes.Equal(e.key, key) {
		return e.rec, e.val
	}
	rec := build()
	if c.seen[i].Swap(h) != h {
		return rec, rec
	}
	e := &ctxEntry{key: bytes.Clone(key), rec: rec, val: rec}
	c.slots[i].Store(e)
	return rec, e.val
}
