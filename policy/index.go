package policy

import (
	"iter"
	"slices"
	"sync"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// The index narrows a policy set to the policies whose scope can hold
// for a request, so that the cost of a decision follows the number of
// policies about the request's principal, action and resource rather
// than the size of the set.
//
// Cedar compiles a policy to `scope && conditions`, with the principal,
// action and resource constraints of the scope first, and && does not
// evaluate its right side when its left side is false. A policy whose
// scope is false for a request is therefore neither satisfied nor in
// error: it takes no part in the decision, and skipping it changes
// nothing. A scope constraint never errs: the variables are entities,
// and ==, in and is on entities are total.
//
// Each constraint is decided exactly from the request alone and the
// ancestors of its three entities in the request's entity store,
// computed as Cedar's `in` computes them (every entity reachable through
// parents, parents absent from the store included):
//
//	var == E         var is E
//	var in E         var is E, or E is an ancestor of var
//	var is T         the type of var is T
//	var is T in E    both
//	var in [E1, …]   var in Ei for some i (action only)
//	(none)           always
//
// The index keeps, per dimension, the policies under each key (eq:E,
// in:E, is:T, is-in:(T,E)) and those with no constraint. A request
// yields, per dimension, the keys that can hold (eq:var, in:var and
// in:A for each ancestor A, is:type(var), is-in:(type(var), var or A));
// the policies under them are exactly those whose constraint on that
// dimension holds. The engine takes the dimension with the fewest such
// policies, checks the three constraints of each exactly, and hands the
// survivors to cedar.Authorize, which applies Cedar's rules (forbid
// overrides permit, default deny, errors skip) unchanged. The lists of a
// request's principal, action and resource, and their ancestors, are
// kept per entity and per policy set (cache.go), so that a decision
// about a known agent and tool looks up no map of the index.

type scopeKind uint8

const (
	scopeAll scopeKind = iota
	scopeEq
	scopeIn
	scopeIs
	scopeIsIn
	scopeInSet
)

// scope is one of a policy's three scope constraints.
type scope struct {
	kind scopeKind
	typ  types.EntityType
	uids []types.EntityUID
}

// scopesOf returns the principal, action and resource constraints of p.
func scopesOf(p *ast.Policy) (pr, ac, re scope) {
	x := (*xast.Policy)(p)
	return scopeOf(x.Principal), scopeOf(x.Action), scopeOf(x.Resource)
}

func scopeOf(n xast.IsScopeNode) scope {
	switch t := n.(type) {
	case xast.ScopeTypeEq:
		return scope{kind: scopeEq, uids: []types.EntityUID{t.Entity}}
	case xast.ScopeTypeIn:
		return scope{kind: scopeIn, uids: []types.EntityUID{t.Entity}}
	case xast.ScopeTypeIs:
		return scope{kind: scopeIs, typ: t.Type}
	case xast.ScopeTypeIsIn:
		return scope{kind: scopeIsIn, typ: t.Type, uids: []types.EntityUID{t.Entity}}
	case xast.ScopeTypeInSet:
		uids := slices.Clone(t.Entities)
		slices.SortFunc(uids, compareUID)
		return scope{kind: scopeInSet, uids: slices.Compact(uids)}
	}
	// ScopeTypeAll, and any shape this version does not know: a
	// candidate everywhere.
	return scope{kind: scopeAll}
}

func compareUID(a, b types.EntityUID) int {
	if a.Type != b.Type {
		if a.Type < b.Type {
			return -1
		}
		return 1
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// matches decides the constraint for the entity uid whose ancestors are
// anc.
func (s *scope) matches(uid types.EntityUID, anc []types.EntityUID) bool {
	switch s.kind {
	case scopeEq:
		return s.uids[0] == uid
	case scopeIn:
		return s.uids[0] == uid || slices.Contains(anc, s.uids[0])
	case scopeIs:
		return uid.Type == s.typ
	case scopeIsIn:
		return uid.Type == s.typ && (s.uids[0] == uid || slices.Contains(anc, s.uids[0]))
	case scopeInSet:
		for _, e := range s.uids {
			if e == uid || slices.Contains(anc, e) {
				return true
			}
		}
		return false
	}
	return true
}

// entry is one policy of a loaded set.
type entry struct {
	id         cedar.PolicyID
	p          *cedar.Policy
	pr, ac, re scope
	needs      ctxNeed // the context attributes its conditions read
}

func newEntry(id cedar.PolicyID, p *cedar.Policy) entry {
	e := entry{id: id, p: p, needs: needsOf(p.AST())}
	e.pr, e.ac, e.re = scopesOf(p.AST())
	return e
}

type typedUID struct {
	typ types.EntityType
	uid types.EntityUID
}

// dim indexes the policies of a set by their constraint on one scope
// variable. The lists hold indexes into index.entries, ascending.
type dim struct {
	all  []int32
	eq   map[types.EntityUID][]int32
	in   map[types.EntityUID][]int32
	is   map[types.EntityType][]int32
	isIn map[typedUID][]int32
}

func newDim() dim {
	return dim{
		eq:   map[types.EntityUID][]int32{},
		in:   map[types.EntityUID][]int32{},
		is:   map[types.EntityType][]int32{},
		isIn: map[typedUID][]int32{},
	}
}

func (d *dim) add(s *scope, i int32) {
	switch s.kind {
	case scopeEq:
		d.eq[s.uids[0]] = append(d.eq[s.uids[0]], i)
	case scopeIn, scopeInSet:
		for _, e := range s.uids {
			d.in[e] = append(d.in[e], i)
		}
	case scopeIs:
		d.is[s.typ] = append(d.is[s.typ], i)
	case scopeIsIn:
		k := typedUID{s.typ, s.uids[0]}
		d.isIn[k] = append(d.isIn[k], i)
	default:
		d.all = append(d.all, i)
	}
}

// lists appends to out the lists of the policies whose constraint can
// hold for uid with ancestors anc, and returns it with their total
// length.
func (d *dim) lists(uid types.EntityUID, anc []types.EntityUID, out [][]int32) ([][]int32, int) {
	n := 0
	put := func(l []int32) {
		if len(l) > 0 {
			out = append(out, l)
			n += len(l)
		}
	}
	put(d.all)
	put(d.eq[uid])
	put(d.in[uid])
	put(d.is[uid.Type])
	put(d.isIn[typedUID{uid.Type, uid}])
	for _, a := range anc {
		put(d.in[a])
		put(d.isIn[typedUID{uid.Type, a}])
	}
	return out, n
}

// index is a loaded policy set and its index.
type index struct {
	entries    []entry
	pr, ac, re dim
}

func newIndex(entries []entry) *index {
	x := &index{entries: entries, pr: newDim(), ac: newDim(), re: newDim()}
	for i := range entries {
		e := &entries[i]
		x.pr.add(&e.pr, int32(i))
		x.ac.add(&e.ac, int32(i))
		x.re.add(&e.re, int32(i))
	}
	return x
}

// scratch holds the buffers of one decision.
type scratch struct {
	anc    [3][]types.EntityUID
	stack  []types.EntityUID
	lists  [3][][]int32
	cand   []int32
	sel    candidates
	maps   [3]types.RecordMap // emptied after use
	key    []byte             // of the context cache
	subkey []byte
	args   []types.Value
	ctr    []int64
}

// All implements cedar.PolicyIterator over the selected policies.
func (sc *scratch) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return sc.sel.All() }

// recordMap returns the i-th scratch record map, empty.
func (sc *scratch) recordMap(i int) types.RecordMap {
	if sc.maps[i] == nil {
		sc.maps[i] = make(types.RecordMap, 8)
	}
	return sc.maps[i]
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// candidates is a list of policies, handed to cedar.Authorize.
type candidates []*entry

// needs returns the context attributes the candidates read.
func (c candidates) needs() ctxNeed {
	var n ctxNeed
	for _, e := range c {
		n |= e.needs
	}
	return n
}

// All implements cedar.PolicyIterator.
func (c candidates) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, e := range c {
			if !yield(e.id, e.p) {
				return
			}
		}
	}
}

// merged returns, ascending, the policies whose constraint on d can
// hold for uid with ancestors anc.
func (d *dim) merged(uid types.EntityUID, anc []types.EntityUID) []int32 {
	lists, n := d.lists(uid, anc, nil)
	out := make([]int32, 0, n)
	for _, l := range lists {
		out = append(out, l...)
	}
	if len(lists) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return slices.Clip(out)
}

// candidates returns the policies whose scope holds for req in the
// entity store g, in set order. The result lives in sc.
func (x *index) candidates(g types.EntityGetter, req *types.Request, sc *scratch) candidates {
	vars := [3]types.EntityUID{req.Principal, req.Action, req.Resource}
	dims := [3]*dim{&x.pr, &x.ac, &x.re}
	best, bestN := 0, -1
	for i := range vars {
		sc.anc[i], sc.stack = ancestors(g, vars[i], sc.anc[i][:0], sc.stack[:0])
		var n int
		sc.lists[i], n = dims[i].lists(vars[i], sc.anc[i], sc.lists[i][:0])
		if bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	sc.cand = sc.cand[:0]
	for _, l := range sc.lists[best] {
		sc.cand = append(sc.cand, l...)
	}
	if len(sc.lists[best]) > 1 {
		slices.Sort(sc.cand)
		sc.cand = slices.Compact(sc.cand)
	}
	return x.filter(sc.cand, vars, sc.anc, sc)
}

// filter returns the policies of list whose three scope constraints
// hold for vars, whose ancestors are anc. The result lives in sc.
func (x *index) filter(list []int32, vars [3]types.EntityUID, anc [3][]types.EntityUID, sc *scratch) candidates {
	sc.sel = sc.sel[:0]
	for _, i := range list {
		e := &x.entries[i]
		if e.pr.matches(vars[0], anc[0]) && e.ac.matches(vars[1], anc[1]) && e.re.matches(vars[2], anc[2]) {
			sc.sel = append(sc.sel, e)
		}
	}
	return sc.sel
}

// ancestors appends to out every entity reachable from uid through
// parents in g, as Cedar's `in` walks them: parents that are not in g
// count, and are not walked further. uid itself is left out.
func ancestors(g types.EntityGetter, uid types.EntityUID, out, stack []types.EntityUID) ([]types.EntityUID, []types.EntityUID) {
	ent, ok := g.Get(uid)
	if !ok {
		return out, stack
	}
	return walk(g, uid, ent.Parents, out, stack)
}

// walk appends to out every entity reachable from parents, the parents
// of uid, as ancestors does.
func walk(g types.EntityGetter, uid types.EntityUID, parents types.EntityUIDSet, out, stack []types.EntityUID) ([]types.EntityUID, []types.EntityUID) {
	for p := range parents.All() {
		stack = append(stack, p)
	}
	var seen map[types.EntityUID]bool // once out is too long to scan
	for len(stack) > 0 {
		k := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if k == uid {
			continue
		}
		if seen != nil {
			if seen[k] {
				continue
			}
			seen[k] = true
		} else if slices.Contains(out, k) {
			continue
		}
		out = append(out, k)
		if seen == nil && len(out) > 32 {
			seen = make(map[types.EntityUID]bool, 2*len(out))
			for _, a := range out {
				seen[a] = true
			}
		}
		if e, ok := g.Get(k); ok {
			for p := range e.Parents.All() {
				stack = append(stack, p)
			}
		}
	}
	return out, stack
}
