package audit

import (
	"sync"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// arenaChunk is how many values an arena allocates at once.
const arenaChunk = 256

// chunk hands out pointers to values allocated arenaChunk at a time, so
// that converting a batch costs a few large allocations instead of one
// per message. The blocks are kept for the next batch: reset zeroes
// the values handed out.
type chunk[T any] struct {
	blocks [][]T
	cur    int // block being filled
	used   int // values of blocks[cur] handed out
}

func (c *chunk[T]) next() *T {
	if c.cur == len(c.blocks) {
		c.blocks = append(c.blocks, make([]T, arenaChunk))
	}
	p := &c.blocks[c.cur][c.used]
	if c.used++; c.used == arenaChunk {
		c.cur, c.used = c.cur+1, 0
	}
	return p
}

// reset zeroes what was handed out and keeps at most arenaKeep blocks.
func (c *chunk[T]) reset() {
	for i := 0; i <= c.cur && i < len(c.blocks); i++ {
		clear(c.blocks[i])
	}
	c.cur, c.used = 0, 0
	if len(c.blocks) > arenaKeep {
		clear(c.blocks[arenaKeep:])
		c.blocks = c.blocks[:arenaKeep]
	}
}

// arenaKeep bounds the blocks of each kind a pooled arena keeps.
const arenaKeep = 32

// ptrs hands out slices of pointers carved from larger arrays.
type ptrs[T any] struct {
	blocks [][]*T
	cur    int
	used   int
}

func (p *ptrs[T]) take(n int) []*T {
	if n > arenaChunk {
		return make([]*T, n)
	}
	if p.cur < len(p.blocks) && p.used+n > arenaChunk {
		p.cur, p.used = p.cur+1, 0
	}
	if p.cur == len(p.blocks) {
		p.blocks = append(p.blocks, make([]*T, arenaChunk))
	}
	s := p.blocks[p.cur][p.used : p.used+n : p.used+n]
	p.used += n
	return s
}

func (p *ptrs[T]) reset() {
	for i := 0; i <= p.cur && i < len(p.blocks); i++ {
		clear(p.blocks[i])
	}
	p.cur, p.used = 0, 0
	if len(p.blocks) > arenaKeep {
		clear(p.blocks[arenaKeep:])
		p.blocks = p.blocks[:arenaKeep]
	}
}

// arena allocates the messages of one export call. It is not safe for
// concurrent use.
type arena struct {
	spans   chunk[tracepb.Span]
	kvs     chunk[commonpb.KeyValue]
	vals    chunk[commonpb.AnyValue]
	strs    chunk[commonpb.AnyValue_StringValue]
	ints    chunk[commonpb.AnyValue_IntValue]
	bools   chunk[commonpb.AnyValue_BoolValue]
	doubles chunk[commonpb.AnyValue_DoubleValue]
	kvPtrs  ptrs[commonpb.KeyValue]
	ids     []byte
}

var arenas = sync.Pool{New: func() any { return new(arena) }}

// getArena returns an empty arena; putArena gives it back once nothing
// it allocated is used any more.
func getArena() *arena { return arenas.Get().(*arena) }

func putArena(a *arena) {
	a.spans.reset()
	a.kvs.reset()
	a.vals.reset()
	a.strs.reset()
	a.ints.reset()
	a.bools.reset()
	a.doubles.reset()
	a.kvPtrs.reset()
	a.ids = nil
	arenas.Put(a)
}

// id returns a copy of b carved from a larger buffer.
func (a *arena) id(b []byte) []byte {
	if len(a.ids) < len(b) {
		a.ids = make([]byte, 32*arenaChunk)
	}
	s := a.ids[:len(b):len(b)]
	copy(s, b)
	a.ids = a.ids[len(b):]
	return s
}

// stringValue returns an AnyValue holding s.
func (a *arena) stringValue(dst *commonpb.AnyValue, s string) {
	w := a.strs.next()
	w.StringValue = s
	dst.Value = w
}
