package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/cedar-policy/cedar-go/types"
)

// Entity types of the schema.
const (
	typeGroup     types.EntityType = "Group"
	typeBlueprint types.EntityType = "Blueprint"
	typeAgent     types.EntityType = "Agent"
	typeUser      types.EntityType = "User"
	typeAction    types.EntityType = "Action"
)

// env is the entity store of one request: the principal, the user and
// the resource, built for it, and the engine's static group hierarchy.
// It implements types.EntityGetter without building a map.
type env struct {
	agent, user, resource types.Entity
	hasUser               bool
	static                types.EntityMap
}

// Get implements types.EntityGetter.
func (e *env) Get(uid types.EntityUID) (types.Entity, bool) {
	switch {
	case uid == e.agent.UID:
		return e.agent, true
	case e.hasUser && uid == e.user.UID:
		return e.user, true
	case uid == e.resource.UID:
		return e.resource, true
	}
	ent, ok := e.static[uid]
	return ent, ok
}

// groupEntities builds the static store of nested groups.
func groupEntities(parents map[string][]string) types.EntityMap {
	m := make(types.EntityMap, len(parents))
	for g, ps := range parents {
		uid := types.NewEntityUID(typeGroup, types.String(g))
		m[uid] = types.Entity{UID: uid, Parents: groupSet(ps)}
	}
	return m
}

func groupSet(groups []string, extra ...types.EntityUID) types.EntityUIDSet {
	uids := make([]types.EntityUID, 0, len(groups)+len(extra))
	uids = append(uids, extra...)
	for _, g := range groups {
		uids = append(uids, types.NewEntityUID(typeGroup, types.String(g)))
	}
	return types.NewEntityUIDSet(uids...)
}

func stringSet(ss []string) types.Set {
	if len(ss) == 0 {
		return types.Set{}
	}
	vs := make([]types.Value, len(ss))
	for i, s := range ss {
		vs[i] = types.String(s)
	}
	return types.NewSet(vs...)
}

// agentEntity is Agent::"id" with its attributes and parents.
func agentEntity(a *Agent) types.Entity {
	var bp []types.EntityUID
	if a.BlueprintID != "" {
		bp = []types.EntityUID{types.NewEntityUID(typeBlueprint, types.String(a.BlueprintID))}
	}
	return types.Entity{
		UID:     types.NewEntityUID(typeAgent, types.String(a.ID)),
		Parents: groupSet(a.Groups, bp...),
		Attributes: types.NewRecord(types.RecordMap{
			"tenant":    types.String(a.TenantID),
			"blueprint": types.String(a.BlueprintID),
			"kind":      types.String(a.Kind.String()),
			"sponsors":  stringSet(a.Sponsors),
			"risk":      types.Long(a.Risk),
			"tags":      stringSet(a.Tags),
		}),
	}
}

// resourceEntity is the resource with its attributes and parents. An
// Agent resource has the attributes of an agent, empty but for risk and
// tags.
func resourceEntity(r *Resource) types.Entity {
	if r.Type == TypeAgent {
		return agentEntity(&Agent{ID: r.ID, Risk: r.Risk, Tags: r.Tags, Groups: r.Groups})
	}
	return types.Entity{
		UID:     types.NewEntityUID(types.EntityType(r.Type), types.String(r.ID)),
		Parents: groupSet(r.Groups),
		Attributes: types.NewRecord(types.RecordMap{
			"risk": types.Long(r.Risk),
			"tags": stringSet(r.Tags),
		}),
	}
}

// derived is what an engine keeps about the principal, the action and
// the resource of a request.
type derived struct {
	agent    *cached[Agent]
	action   *cached[Action]
	resource *cached[Resource]
}

// entities builds the entity store of req and the Cedar request, its
// context left empty.
func (e *Engine) entities(req *Request) (types.Request, *env, derived) {
	s := &req.Subject
	d := derived{
		agent:    e.caches.agent(&s.Agent),
		action:   e.caches.actions[req.Action],
		resource: e.caches.resource(&req.Resource),
	}
	ev := &env{agent: d.agent.ent, resource: d.resource.ent, static: e.groups}
	if s.User != nil {
		ev.hasUser = true
		ev.user = types.Entity{
			UID:     types.NewEntityUID(typeUser, types.String(s.User.ID)),
			Parents: groupSet(s.User.Groups),
		}
	}
	return types.Request{Principal: d.agent.ent.UID, Action: d.action.ent.UID, Resource: d.resource.ent.UID}, ev, d
}

// candidates returns the policies of idx whose scope holds for the
// request of d: those of the shortest of the three candidate lists that
// pass the other two constraints.
func (d *derived) candidates(idx *index, sc *scratch) candidates {
	lists := [3][]int32{
		d.agent.candidates(idx, &idx.pr),
		d.action.candidates(idx, &idx.ac),
		d.resource.candidates(idx, &idx.re),
	}
	best := lists[0]
	for _, l := range lists[1:] {
		if len(l) < len(best) {
			best = l
		}
	}
	return idx.filter(best,
		[3]types.EntityUID{d.agent.ent.UID, d.action.ent.UID, d.resource.ent.UID},
		[3][]types.EntityUID{d.agent.anc, d.action.anc, d.resource.anc}, sc)
}

// context builds the attributes of the context of req that need names.
// args are the declared arguments, ctr the values of the counters (nil
// when not needed).
func (e *Engine) context(req *Request, need ctxNeed, now time.Time, args []types.Value, ctr []int64, sc *scratch) types.Record {
	if need == 0 {
		return types.Record{}
	}
	key, cacheable := ctxKey(sc.key[:0], req, need, now, args, ctr)
	sc.key = key
	if !cacheable {
		return e.buildContext(req, need, now, args, ctr, sc)
	}
	rec, _ := e.ctxs.record(key, func() types.Record { return e.buildContext(req, need, now, args, ctr, sc) })
	return rec
}

// buildContext builds the attributes of the context of req that need
// names.
func (e *Engine) buildContext(req *Request, need ctxNeed, now time.Time, args []types.Value, ctr []int64, sc *scratch) types.Record {
	s := &req.Subject
	ctx := sc.recordMap(0)
	if need&needTime != 0 {
		ctx["time"] = types.NewDatetime(now)
	}
	if need&needRisk != 0 {
		ctx["risk"] = types.Long(s.Risk)
	}
	if need&needScopes != 0 {
		ctx["scopes"] = stringSet(s.Scopes)
	}
	if need&needDelegation != 0 {
		if len(s.Delegation) == 0 {
			ctx["delegation"] = noDelegation
		} else {
			ctx["delegation"] = types.NewRecord(types.RecordMap{
				"depth": types.Long(len(s.Delegation)),
				"chain": stringSet(s.Delegation),
			})
		}
	}
	if need&needUser != 0 && s.User != nil {
		ctx["user"] = types.NewEntityUID(typeUser, types.String(s.User.ID))
	}
	if need&needSourceIP != 0 {
		if ip, ok := ipAddr(s.SourceIP); ok {
			ctx["source_ip"] = ip
		}
	}
	if need&needSession != 0 && s.Session != "" {
		ctx["session"] = types.String(s.Session)
	}
	if need&needHTTP != 0 && req.HTTP != nil {
		ctx["http"] = types.NewRecord(types.RecordMap{
			"method": types.String(req.HTTP.Method),
			"path":   types.String(req.HTTP.Path),
		})
	}
	if need&needArgs != 0 {
		build := func() types.Record {
			am := sc.recordMap(1)
			for i, v := range args {
				if v != nil {
					am[types.String(e.cfg.args[i].name)] = v
				}
			}
			return newRecord(am)
		}
		if key, ok := argsKey(sc.subkey[:0], args); ok {
			sc.subkey = key
			_, ctx["args"] = e.ctxs.record(key, build)
		} else {
			ctx["args"] = build()
		}
	}
	if need&needCounters != 0 {
		sc.subkey = countersKey(sc.subkey[:0], ctr)
		_, ctx["counters"] = e.ctxs.record(sc.subkey, func() types.Record {
			cm := sc.recordMap(2)
			for i, name := range e.counterNames {
				cm[types.String(name)] = types.Long(ctr[i])
			}
			return newRecord(cm)
		})
	}
	return newRecord(ctx)
}

// newRecord makes a record of m, which it empties: NewRecord copies its
// map, so that the scratch maps serve again.
func newRecord(m types.RecordMap) types.Record {
	if len(m) == 0 {
		return types.Record{}
	}
	r := types.NewRecord(m)
	clear(m)
	return r
}

// noDelegation is context.delegation of a request without an act chain.
var noDelegation types.Value = types.NewRecord(types.RecordMap{"depth": types.Long(0), "chain": types.Set{}})

// ipAddr converts a to Cedar's ipaddr: IPv4-mapped addresses become IPv4
// and zones are dropped, as Cedar has neither.
func ipAddr(a netip.Addr) (types.IPAddr, bool) {
	if !a.IsValid() {
		return types.IPAddr{}, false
	}
	a = a.Unmap().WithZone("")
	return types.IPAddr(netip.PrefixFrom(a, a.BitLen())), true
}

// convertArgs converts the declared arguments of req (nil when absent),
// into sc.
func (e *Engine) convertArgs(req *Request, sc *scratch) ([]types.Value, error) {
	if len(e.cfg.args) == 0 {
		return nil, nil
	}
	sc.args = append(sc.args[:0], make([]types.Value, len(e.cfg.args))...)
	out := sc.args
	for i, d := range e.cfg.args {
		v, ok := req.Args[d.name]
		if !ok || v == nil {
			continue
		}
		cv, err := convertArg(d.typ, v)
		if err != nil {
			return nil, fmt.Errorf("%w: argument %q: %w", ErrInvalidRequest, d.name, err)
		}
		out[i] = cv
	}
	return out, nil
}

func convertArg(t ArgType, v any) (types.Value, error) {
	switch t {
	case ArgLong:
		if n, ok := toInt64(v); ok {
			return types.Long(n), nil
		}
	case ArgDecimal:
		if d, ok := toDecimal(v); ok {
			return d, nil
		}
	case ArgString:
		if s, ok := v.(string); ok {
			return types.String(s), nil
		}
	case ArgBool:
		if b, ok := v.(bool); ok {
			return types.Boolean(b), nil
		}
	case ArgStrings:
		switch l := v.(type) {
		case []string:
			return stringSet(l), nil
		case []any:
			ss := make([]string, len(l))
			for i, x := range l {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("want %s, got a %T element", t, x)
				}
				ss[i] = s
			}
			return stringSet(ss), nil
		}
	}
	return nil, fmt.Errorf("want %s, got %T", t, v)
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), uint64(n) <= math.MaxInt64
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float32:
		return toInt64(float64(n))
	case float64:
		if n != math.Trunc(n) || n < -(1<<63) || n >= 1<<63 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

func toDecimal(v any) (types.Decimal, bool) {
	switch n := v.(type) {
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return types.Decimal{}, false
		}
		d, err := types.NewDecimalFromFloat(n)
		return d, err == nil
	case float32:
		return toDecimal(float64(n))
	case string:
		d, err := types.ParseDecimal(n)
		return d, err == nil
	case json.Number:
		d, err := types.ParseDecimal(n.String())
		if err != nil {
			f, ferr := n.Float64()
			if ferr != nil {
				return types.Decimal{}, false
			}
			return toDecimal(f)
		}
		return d, true
	}
	if i, ok := toInt64(v); ok {
		d, err := types.NewDecimalFromInt(i)
		return d, err == nil
	}
	return types.Decimal{}, false
}
