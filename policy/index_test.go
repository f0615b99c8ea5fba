package policy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// outcome is what a decision is compared on: the decision, the ids of
// the determining policies and the errors, order aside.
type outcome struct {
	Allow   bool
	Reasons []string
	Errors  []string
}

func cedarOutcome(dec cedar.Decision, diag cedar.Diagnostic) outcome {
	o := outcome{Allow: dec == cedar.Allow}
	for _, r := range diag.Reasons {
		o.Reasons = append(o.Reasons, string(r.PolicyID))
	}
	for _, e := range diag.Errors {
		o.Errors = append(o.Errors, string(e.PolicyID)+": "+e.Message)
	}
	slices.Sort(o.Reasons)
	slices.Sort(o.Errors)
	return o
}

func engineOutcome(d policy.Decision) outcome {
	o := outcome{Allow: d.Allow, Reasons: d.Reasons}
	for _, e := range d.Errors {
		o.Errors = append(o.Errors, e.PolicyID+": "+e.Message)
	}
	slices.Sort(o.Errors)
	return o
}

// stats counts the kinds of outcomes a randomized test met, to show it
// met them all.
type stats struct{ allow, forbid, defaultDeny, errors int }

func (s *stats) count(o outcome) {
	switch {
	case o.Allow:
		s.allow++
	case len(o.Reasons) > 0:
		s.forbid++
	default:
		s.defaultDeny++
	}
	if len(o.Errors) > 0 {
		s.errors++
	}
}

func (s stats) String() string {
	return fmt.Sprintf("%d allowed, %d forbidden, %d denied by default, %d with errors", s.allow, s.forbid, s.defaultDeny, s.errors)
}

func (s stats) check(t *testing.T) {
	t.Helper()
	if s.allow == 0 || s.forbid == 0 || s.defaultDeny == 0 || s.errors == 0 {
		t.Errorf("the generator missed a kind of outcome: %s", s)
	}
}

// rawGen generates policy sets, entity stores and requests over a small
// universe of entities, with every scope shape, hierarchies with cycles
// and missing parents, action groups, and conditions that may err.
type rawGen struct{ r *rand.Rand }

var rawTypes = []string{"Agent", "Group", "Tool", "Doc"}

func (g rawGen) uid(types ...string) string {
	return fmt.Sprintf("%s::%q", types[g.r.IntN(len(types))], fmt.Sprint("e", g.r.IntN(4)))
}

func (g rawGen) action() string { return fmt.Sprintf("Action::%q", fmt.Sprint("a", g.r.IntN(5))) }

func (g rawGen) principalOrResource(v string) string {
	switch g.r.IntN(6) {
	case 0:
		return v
	case 1:
		return v + " == " + g.uid(rawTypes...)
	case 2:
		return v + " in " + g.uid(rawTypes...)
	case 3:
		return v + " is " + rawTypes[g.r.IntN(len(rawTypes))]
	case 4:
		return v + " is " + rawTypes[g.r.IntN(len(rawTypes))] + " in " + g.uid(rawTypes...)
	}
	return v + " in " + g.uid("Group")
}

func (g rawGen) actionScope() string {
	switch g.r.IntN(5) {
	case 0:
		return "action"
	case 1:
		return "action == " + g.action()
	case 2:
		return "action in " + g.action()
	case 3:
		n := g.r.IntN(4)
		as := make([]string, n)
		for i := range as {
			as[i] = g.action()
		}
		return "action in [" + strings.Join(as, ", ") + "]"
	}
	return "action in [" + g.action() + "]"
}

var rawConditions = []string{
	"",
	" when { true }",
	" unless { true }",
	" when { context.n > 0 }",
	" when { context.n + 9223372036854775807 > 0 }", // errs when n > 0
	" when { principal.level > 1 }",                 // errs when the attribute is missing
	" unless { resource has level && resource.level > 1 }",
	" when { principal in resource }",
	" when { resource.owner == principal }", // errs unless resource has owner
}

func (g rawGen) policies() string {
	var b strings.Builder
	for i := range g.r.IntN(30) {
		effect := "permit"
		if g.r.IntN(3) == 0 {
			effect = "forbid"
		}
		fmt.Fprintf(&b, "@id(\"p%d\")\n%s (%s, %s, %s)%s;\n", i, effect,
			g.principalOrResource("principal"), g.actionScope(), g.principalOrResource("resource"),
			rawConditions[g.r.IntN(len(rawConditions))])
	}
	return b.String()
}

func (g rawGen) entityUID(types ...string) types.EntityUID {
	return cedar.NewEntityUID(cedar.EntityType(types[g.r.IntN(len(types))]), cedar.String(fmt.Sprint("e", g.r.IntN(4))))
}

func (g rawGen) entities() cedar.EntityMap {
	m := cedar.EntityMap{}
	for range g.r.IntN(12) {
		uid := g.entityUID(rawTypes...)
		if g.r.IntN(4) == 0 {
			uid = cedar.NewEntityUID("Action", cedar.String(fmt.Sprint("a", g.r.IntN(5))))
		}
		var parents []types.EntityUID
		for range g.r.IntN(3) {
			if uid.Type == "Action" {
				parents = append(parents, cedar.NewEntityUID("Action", cedar.String(fmt.Sprint("a", g.r.IntN(5)))))
			} else {
				parents = append(parents, g.entityUID(rawTypes...))
			}
		}
		attrs := cedar.RecordMap{}
		if g.r.IntN(2) == 0 {
			attrs["level"] = cedar.Long(g.r.IntN(3))
		}
		if g.r.IntN(3) == 0 {
			attrs["owner"] = g.entityUID(rawTypes...)
		}
		m[uid] = cedar.Entity{UID: uid, Parents: cedar.NewEntityUIDSet(parents...), Attributes: cedar.NewRecord(attrs)}
	}
	return m
}

func (g rawGen) request() cedar.Request {
	return cedar.Request{
		Principal: g.entityUID(rawTypes...),
		Action:    cedar.NewEntityUID("Action", cedar.String(fmt.Sprint("a", g.r.IntN(5)))),
		Resource:  g.entityUID(rawTypes...),
		Context:   cedar.NewRecord(cedar.RecordMap{"n": cedar.Long(g.r.IntN(2))}),
	}
}

// TestIndexEquivalence proves the index keeps Cedar's semantics: on
// randomized policy sets, entity stores and requests, deciding over the
// candidates the index picks gives the decision, reasons and errors of
// cedar-go over the whole set.
func TestIndexEquivalence(t *testing.T) {
	const sets, requestsPerSet = 1000, 12
	g := rawGen{rand.New(rand.NewPCG(20260302, 1))}
	pairs, policies, candidates := 0, 0, 0
	var st stats
	for range sets {
		text := g.policies()
		list, err := cedar.NewPolicyListFromBytes("gen.cedar", []byte(text))
		if err != nil {
			t.Fatalf("generated policies do not parse: %v\n%s", err, text)
		}
		bare := cedar.NewPolicySet()
		byID := map[cedar.PolicyID]*cedar.Policy{}
		for _, p := range list {
			id := cedar.PolicyID(p.Annotations()["id"])
			bare.Add(id, p)
			byID[id] = p
		}
		indexed := policy.NewIndexedSet(byID)
		for range requestsPerSet {
			ents, req := g.entities(), g.request()
			want := cedarOutcome(cedar.Authorize(bare, ents, req))
			got := cedarOutcome(indexed.Authorize(ents, req))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("indexed decision differs from cedar-go (-cedar +indexed):\n%s\npolicies:\n%s\nentities: %v\nrequest: %v", diff, text, ents, req)
			}
			pairs++
			policies += len(byID)
			candidates += indexed.Candidates(ents, req)
			st.count(want)
		}
	}
	t.Logf("%d (policy set, request) pairs equal (%s); the index evaluated %d of %d policies (%.0f%%)",
		pairs, st, candidates, policies, 100*float64(candidates)/float64(max(policies, 1)))
	st.check(t)
}

// schemaGen generates policies that validate against the engine's schema
// and requests of the entity model.
type schemaGen struct{ r *rand.Rand }

func (g schemaGen) pick(s ...string) string { return s[g.r.IntN(len(s))] }
func (g schemaGen) id(prefix string) string { return fmt.Sprintf("%s%d", prefix, g.r.IntN(4)) }

var actionsOf = map[string][]string{
	"invoke_tool": {"Tool"}, "call_api": {"Api"}, "acquire_token": {"Api"}, "invoke_agent": {"Agent"},
}

var schemaConditions = []string{
	"",
	" when { principal.risk >= 2 }",
	" unless { context.risk < 1 }",
	" when { context.delegation.depth > 1 }",
	" when { context has user && context.user in Group::\"g1\" }",
	" when { principal.risk + 9223372036854775807 > 0 }",
	" when { context.args has amount && context.args.amount * 4611686018427387904 > 0 }",
	" when { context.counters.calls > 2 }",
	" when { principal.tags.contains(\"t1\") }",
	" when { context has source_ip && context.source_ip.isInRange(ip(\"10.0.0.0/8\")) }",
	" when { resource.risk > 1 }",
	" when { principal.kind == \"delegated\" }",
	" when { context.time.toTime() < duration(\"11h\") }",
	" unless { context.scopes.contains(\"s1\") }",
	" when { context has session && context.session == \"s0\" }",
	" when { context has http && context.http.method == \"DELETE\" }",
	" when { [context].contains(context) && context.risk > 1 }",
}

func (g schemaGen) policies(n int) string {
	var b strings.Builder
	for i := range n {
		pr := g.pick("principal",
			"principal == Agent::\""+g.id("a")+"\"",
			"principal in Group::\""+g.id("g")+"\"",
			"principal in Blueprint::\""+g.id("b")+"\"",
			"principal is Agent",
			"principal is Agent in Group::\""+g.id("g")+"\"",
			"principal is Agent in Blueprint::\""+g.id("b")+"\"")
		actions := []string{"invoke_tool", "call_api", "acquire_token", "invoke_agent"}
		var ac string
		var in []string
		switch g.r.IntN(3) {
		case 0:
			ac, in = "action", actions
		case 1:
			a := g.pick(actions...)
			ac, in = "action == Action::\""+a+"\"", []string{a}
		default:
			g.r.Shuffle(len(actions), func(i, j int) { actions[i], actions[j] = actions[j], actions[i] })
			in = actions[:1+g.r.IntN(3)]
			var parts []string
			for _, a := range in {
				parts = append(parts, "Action::\""+a+"\"")
			}
			ac = "action in [" + strings.Join(parts, ", ") + "]"
		}
		typ := actionsOf[g.pick(in...)][0]
		re := g.pick("resource",
			"resource == "+typ+"::\""+g.id("x")+"\"",
			"resource in Group::\""+g.id("g")+"\"",
			"resource is "+typ,
			"resource is "+typ+" in Group::\""+g.id("g")+"\"")
		effect := g.pick("permit", "permit", "forbid")
		fmt.Fprintf(&b, "@id(\"p%d\")\n%s (%s, %s, %s)%s;\n", i, effect, pr, ac, re, g.pick(schemaConditions...))
	}
	return b.String()
}

func (g schemaGen) groups() []string {
	var out []string
	for i := range 4 {
		if g.r.IntN(3) == 0 {
			out = append(out, fmt.Sprint("g", i))
		}
	}
	return out
}

func (g schemaGen) request() policy.Request {
	s := policy.FromIdentity(agentid.Identity{
		AgentID: g.id("a"), BlueprintID: g.id("b"), TenantID: "t",
		Kind: agentid.Kind(g.r.IntN(4)),
	}, nil)
	s.Agent.Groups = g.groups()
	s.Agent.Risk = policy.Risk(g.r.IntN(4))
	s.Risk = policy.Risk(g.r.IntN(4))
	if g.r.IntN(2) == 0 {
		s.Agent.Tags = []string{g.pick("t0", "t1")}
	}
	if g.r.IntN(2) == 0 {
		s.User = &policy.User{ID: g.id("u"), Groups: g.groups()}
	}
	for range g.r.IntN(4) {
		s.Delegation = append(s.Delegation, g.id("a"))
	}
	if g.r.IntN(2) == 0 {
		s.SourceIP = netip.AddrFrom4([4]byte{byte(g.pick2(10, 192)), 0, 0, 1})
	}
	if g.r.IntN(2) == 0 {
		s.Scopes = []string{g.pick("s0", "s1")}
	}
	if g.r.IntN(2) == 0 {
		s.Session = g.pick("s0", "s1")
	}
	action := policy.Action(g.pick("invoke_tool", "call_api", "acquire_token", "invoke_agent"))
	res := policy.Resource{Type: policy.ResourceType(actionsOf[string(action)][0]), ID: g.id("x"), Groups: g.groups(), Risk: policy.Risk(g.r.IntN(4))}
	req := policy.Request{Subject: s, Action: action, Resource: res}
	if g.r.IntN(2) == 0 {
		req.Args = map[string]any{"amount": g.r.IntN(4)}
	}
	if g.r.IntN(3) == 0 {
		req.HTTP = &policy.HTTPInfo{Method: g.pick("GET", "DELETE"), Path: "/x"}
	}
	return req
}

func (g schemaGen) pick2(a, b int) int {
	if g.r.IntN(2) == 0 {
		return a
	}
	return b
}

// TestEngineEquivalence proves the same through the engine: policies
// that validate against the schema, requests of the entity model, nested
// groups with a cycle, counters; Decide equals cedar-go deciding the
// same Cedar request over the whole set.
func TestEngineEquivalence(t *testing.T) {
	const sets, requestsPerSet = 500, 20
	g := schemaGen{rand.New(rand.NewPCG(20260302, 2))}
	c := newClock()
	pairs := 0
	var st stats
	for range sets {
		text := g.policies(1 + g.r.IntN(25))
		e, err := policy.New(context.Background(), policy.FromString("gen.cedar", text),
			policy.WithClock(c.Now),
			policy.WithArgument("amount", policy.ArgLong),
			policy.WithRateCounter("calls", 1e9),
			policy.WithGroups(map[string][]string{"g0": {"g1"}, "g1": {"g2"}, "g2": {"g3"}, "g3": {"g0"}}))
		if err != nil {
			t.Fatalf("New: %v\n%s", err, text)
		}
		bare := policy.BarePolicySet(e)
		c.Advance(47 * time.Minute)
		for range requestsPerSet {
			req := g.request()
			// Three times: the engine's caches (entities, candidate
			// lists, context records) serve the later ones.
			for i := range 3 {
				if i == 2 {
					c.Advance(23 * time.Minute)
				}
				creq, ents, err := policy.CedarInputs(e, req)
				if err != nil {
					t.Fatalf("CedarInputs: %v", err)
				}
				want := cedarOutcome(cedar.Authorize(bare, ents, creq))
				got := engineOutcome(decide(t, e, req))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("engine decision differs from cedar-go (-cedar +engine):\n%s\npolicies:\n%s\nrequest: %+v", diff, text, req)
				}
				st.count(want)
			}
			pairs++
		}
		e.Close()
	}
	t.Logf("%d (policy set, request) pairs equal (%s)", pairs, st)
	st.check(t)
}
