package policy

import (
	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// CedarInputs returns the Cedar request and entity store Decide builds
// for req (the counters read as they stand, nothing recorded), so that
// tests and benchmarks can hand the same inputs to bare cedar-go.
func CedarInputs(e *Engine, req Request) (cedar.Request, types.EntityGetter, error) {
	if err := req.validate(); err != nil {
		return cedar.Request{}, nil, err
	}
	sc := new(scratch)
	args, err := e.convertArgs(&req, sc)
	if err != nil {
		return cedar.Request{}, nil, err
	}
	now := e.cfg.now()
	var ctr []int64
	if e.ctr != nil {
		ctr = e.ctr.values(&req, args, now, nil)
	}
	creq, ev, _ := e.entities(&req)
	creq.Context = e.buildContext(&req, needAll, now, args, ctr, sc)
	return creq, ev, nil
}

// BarePolicySet returns the engine's current policies as a plain
// cedar-go policy set, with the same ids.
func BarePolicySet(e *Engine) *cedar.PolicySet {
	ps := cedar.NewPolicySet()
	for _, en := range e.cur.Load().idx.entries {
		ps.Add(en.id, en.p)
	}
	return ps
}

// IndexedAuthorize decides req over policies as the engine does: the
// index picks the candidates, cedar.Authorize decides over them.
type IndexedSet struct{ idx *index }

func NewIndexedSet(policies map[cedar.PolicyID]*cedar.Policy) *IndexedSet {
	return &IndexedSet{idx: newIndex(entriesOf(policies))}
}

func entriesOf(policies map[cedar.PolicyID]*cedar.Policy) []entry {
	out := make([]entry, 0, len(policies))
	for id, p := range policies {
		out = append(out, newEntry(id, p))
	}
	return out
}

func (s *IndexedSet) Authorize(g types.EntityGetter, req cedar.Request) (cedar.Decision, cedar.Diagnostic) {
	sc := new(scratch)
	return cedar.Authorize(s.idx.candidates(g, &req, sc), g, req)
}

// Candidates returns how many policies the index hands to Cedar.
func (s *IndexedSet) Candidates(g types.EntityGetter, req cedar.Request) int {
	sc := new(scratch)
	return len(s.idx.candidates(g, &req, sc))
}

// CounterKeys returns the number of keys the session counters hold.
func CounterKeys(e *Engine) int {
	if e.ctr == nil {
		return 0
	}
	return e.ctr.len()
}
