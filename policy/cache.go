package policy

import (
	"hash/maphash"
	"slices"
	"sync/atomic"

	"github.com/cedar-policy/cedar-go/types"
)

// Building a Cedar entity costs more than deciding over a few policies:
// every record is cloned, sorted and hashed. The agents and resources of
// a process are few and repeat, so an engine keeps what it derived from
// them in two small direct-mapped caches: a slot per hash of the Agent
// (or Resource) value, holding a copy of that value, its entity, its
// ancestors in the engine's group hierarchy, and the policies of the
// current set whose scope can hold for it. A lookup takes no lock and
// allocates nothing; a collision or a changed value rebuilds the entry
// and replaces the slot. Memory is bounded by the number of slots.
//
// The ancestors of an agent or a resource depend on the engine's static
// groups only: their parents are blueprints and groups, which are never
// the agent, user or resource of a request.

const cacheSlots = 1 << 10

// cached is what an engine derived from one agent, resource or action.
type cached[K any] struct {
	key  K
	ent  types.Entity
	anc  []types.EntityUID
	list atomic.Pointer[dimList]
}

// dimList is the candidate list of an entity in one index.
type dimList struct {
	idx  *index
	list []int32
}

// candidates returns the policies of idx whose constraint on d can hold
// for c's entity, computed once per policy set.
func (c *cached[K]) candidates(idx *index, d *dim) []int32 {
	if l := c.list.Load(); l != nil && l.idx == idx {
		return l.list
	}
	l := &dimList{idx: idx, list: d.merged(c.ent.UID, c.anc)}
	c.list.Store(l)
	return l.list
}

func newCached[K any](key K, ent types.Entity, static types.EntityMap) *cached[K] {
	anc, _ := walk(static, ent.UID, ent.Parents, nil, nil)
	return &cached[K]{key: key, ent: ent, anc: anc}
}

// caches holds an engine's entries.
type caches struct {
	seed      maphash.Seed
	static    types.EntityMap
	agents    [cacheSlots]atomic.Pointer[cached[Agent]]
	resources [cacheSlots]atomic.Pointer[cached[Resource]]
	actions   map[Action]*cached[Action]
}

func newCaches(static types.EntityMap) *caches {
	c := &caches{seed: maphash.MakeSeed(), static: static, actions: map[Action]*cached[Action]{}}
	for _, a := range []Action{InvokeTool, CallAPI, AcquireToken, InvokeAgent} {
		uid := types.NewEntityUID(typeAction, types.String(a))
		ent, _ := static.Get(uid)
		ent.UID = uid
		c.actions[a] = newCached(a, ent, static)
	}
	return c
}

// agent returns the entry of a, from the cache or built.
func (c *caches) agent(a *Agent) *cached[Agent] {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(a.ID)
	h.WriteByte(0)
	h.WriteString(a.TenantID)
	h.WriteByte(0)
	h.WriteString(a.BlueprintID)
	h.WriteByte(byte(a.Kind))
	h.WriteByte(byte(a.Risk))
	writeStrings(&h, a.Sponsors)
	writeStrings(&h, a.Tags)
	writeStrings(&h, a.Groups)
	slot := &c.agents[h.Sum64()%cacheSlots]
	if e := slot.Load(); e != nil && e.key.ID == a.ID && e.key.TenantID == a.TenantID &&
		e.key.BlueprintID == a.BlueprintID && e.key.Kind == a.Kind && e.key.Risk == a.Risk &&
		slices.Equal(e.key.Sponsors, a.Sponsors) && slices.Equal(e.key.Tags, a.Tags) && slices.Equal(e.key.Groups, a.Groups) {
		return e
	}
	key := *a
	key.Sponsors, key.Tags, key.Groups = slices.Clone(a.Sponsors), slices.Clone(a.Tags), slices.Clone(a.Groups)
	e := newCached(key, agentEntity(a), c.static)
	slot.Store(e)
	return e
}

// resource returns the entry of r, from the cache or built.
func (c *caches) resource(r *Resource) *cached[Resource] {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(string(r.Type))
	h.WriteByte(0)
	h.WriteString(r.ID)
	h.WriteByte(byte(r.Risk))
	writeStrings(&h, r.Tags)
	writeStrings(&h, r.Groups)
	slot := &c.resources[h.Sum64()%cacheSlots]
	if e := slot.Load(); e != nil && e.key.Type == r.Type && e.key.ID == r.ID && e.key.Risk == r.Risk &&
		slices.Equal(e.key.Tags, r.Tags) && slices.Equal(e.key.Groups, r.Groups) {
		return e
	}
	key := *r
	key.Tags, key.Groups = slices.Clone(r.Tags), slices.Clone(r.Groups)
	e := newCached(key, resourceEntity(r), c.static)
	slot.Store(e)
	return e
}

func writeStrings(h *maphash.Hash, ss []string) {
	h.WriteByte(byte(len(ss)))
	for _, s := range ss {
		h.WriteString(s)
		h.WriteByte(0)
	}
}
