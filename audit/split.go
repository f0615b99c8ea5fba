package audit

import (
	"encoding/json"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// jsonOptions encode OTLP/JSON: enums as integers, as the specification
// requires (ids are handled by converter.id).
var jsonOptions = protojson.MarshalOptions{UseEnumNumbers: true}

// body is one request body, ready to send or to spool.
type body struct {
	path   string // path and query, relative to the endpoint
	tenant string // Agent 365 partition; empty in plain mode
	agent  string
	spans  int
	enc    Encoding
	data   []byte
}

// partition holds the spans of one destination path, grouped by
// resource then scope in order of first appearance.
type partition struct {
	path, tenant, agent string
	resources           []*resGroup
	byResource          map[*resource.Resource]*resGroup
}

type resGroup struct {
	pb     *resourcepb.Resource
	schema string
	json   []byte // protojson of pb, in JSON mode
	size   int    // encoded size of pb
	scopes []*scopeGroup
	by     map[instrumentation.Scope]*scopeGroup
}

type scopeGroup struct {
	pb     *commonpb.InstrumentationScope
	schema string
	json   []byte
	size   int
	items  []item
}

// item is one converted span and its encoded size.
type item struct {
	pb   *tracepb.Span
	json []byte // JSON mode: the span's encoding
	size int
}

// encoder builds the bodies of one ExportSpans call.
type encoder struct {
	conv    converter
	enc     Encoding
	maxBody int
	maxSpan int
	parts   []*partition
	byPath  map[string]*partition
	// hint is the capacity of the next scope group's items: the batch
	// size for the first (most batches have one scope), then 0.
	hint int
}

// partition returns the partition for path, creating it.
func (b *encoder) partition(path, tenant, agent string) *partition {
	if p := b.byPath[path]; p != nil {
		return p
	}
	p := &partition{path: path, tenant: tenant, agent: agent, byResource: map[*resource.Resource]*resGroup{}}
	if b.byPath == nil {
		b.byPath = map[string]*partition{}
	}
	b.byPath[path] = p
	b.parts = append(b.parts, p)
	return p
}

// group returns the resource and scope groups of (res, scope) in p,
// creating them.
func (b *encoder) group(p *partition, res *resource.Resource, scope instrumentation.Scope) (*resGroup, *scopeGroup) {
	rg := p.byResource[res]
	if rg == nil {
		rg = &resGroup{pb: b.conv.resource(res), by: map[instrumentation.Scope]*scopeGroup{}}
		if res != nil {
			rg.schema = validUTF8(res.SchemaURL())
		}
		rg.json, rg.size = b.measure(rg.pb)
		p.byResource[res] = rg
		p.resources = append(p.resources, rg)
	}
	sg := rg.by[scope]
	if sg == nil {
		sg = &scopeGroup{pb: b.conv.scope(scope), schema: validUTF8(scope.SchemaURL), items: make([]item, 0, b.hint)}
		b.hint = 0
		sg.json, sg.size = b.measure(sg.pb)
		rg.by[scope] = sg
		rg.scopes = append(rg.scopes, sg)
	}
	return rg, sg
}

// measure returns the encoded size of m, and its JSON in JSON mode.
func (b *encoder) measure(m proto.Message) ([]byte, int) {
	if b.enc != EncodingJSON {
		switch t := m.(type) {
		case *tracepb.Span:
			return nil, sizeSpan(t)
		case *resourcepb.Resource:
			return nil, sizeResource(t)
		case *commonpb.InstrumentationScope:
			return nil, sizeScope(t)
		}
		return nil, proto.Size(m)
	}
	j, err := jsonOptions.Marshal(m)
	if err != nil { // only invalid UTF-8, which converter replaces
		j = []byte("{}")
	}
	return j, len(j)
}

// add measures span, truncates it when it is larger than the span bound
// (or than a body with its resource and scope could hold), and appends it
// to sg, a scope group of rg.
func (b *encoder) add(rg *resGroup, sg *scopeGroup, span *tracepb.Span) {
	limit := min(b.maxSpan, b.maxBody-jsonEnvelope-b.resourceCost(rg)-b.scopeCost(sg)-8)
	j, size := b.measure(span)
	if size > limit {
		truncate(span, max(limit, 0), b.measure)
		j, size = b.measure(span)
	}
	sg.items = append(sg.items, item{pb: span, json: j, size: size})
}

// Costs of the containers of a body, per encoding. Protobuf lengths of
// containers are counted as 5-byte varints, an upper bound, so a body
// never exceeds its bound; a span's own length is counted exactly.
func (b *encoder) resourceCost(rg *resGroup) int {
	if b.enc == EncodingJSON {
		// {"resource":R,"scopeSpans":[...],"schemaUrl":"..."} and a comma.
		return len(`{"resource":`) + rg.size + len(`,"scopeSpans":[]}`) + jsonStringFieldLen("schemaUrl", rg.schema) + 1
	}
	return 1 + 5 + 1 + protowire.SizeBytes(rg.size) + stringFieldLen(rg.schema)
}

func (b *encoder) scopeCost(sg *scopeGroup) int {
	if b.enc == EncodingJSON {
		return len(`{"scope":`) + sg.size + len(`,"spans":[]}`) + jsonStringFieldLen("schemaUrl", sg.schema) + 1
	}
	return 1 + 5 + 1 + protowire.SizeBytes(sg.size) + stringFieldLen(sg.schema)
}

func (b *encoder) spanCost(it item) int {
	if b.enc == EncodingJSON {
		return it.size + 1
	}
	return 1 + protowire.SizeBytes(it.size)
}

const jsonEnvelope = len(`{"resourceSpans":[]}`)

func stringFieldLen(s string) int {
	if s == "" {
		return 0
	}
	return 1 + protowire.SizeBytes(len(s))
}

// jsonStringFieldLen is the length of `,"name":"value"`, or 0 for "".
func jsonStringFieldLen(name, value string) int {
	if value == "" {
		return 0
	}
	q, _ := json.Marshal(value)
	return len(name) + 4 + len(q)
}

// bodies splits every partition into bodies of at most maxBody bytes,
// keeping the order of spans. A span is never split: one that does not
// fit with the others starts a new body.
func (b *encoder) bodies() []*body {
	var out []*body
	for _, p := range b.parts {
		cur := newDraft()
		for _, rg := range p.resources {
			for _, sg := range rg.scopes {
				for i, it := range sg.items {
					need := b.spanCost(it)
					if !cur.has(sg) {
						need += b.scopeCost(sg)
						if !cur.hasRes(rg) {
							need += b.resourceCost(rg)
						}
					}
					if cur.spans > 0 && cur.size+need > b.maxBody {
						out = append(out, b.finish(p, cur))
						cur = newDraft()
						need = b.spanCost(it) + b.scopeCost(sg) + b.resourceCost(rg)
					}
					cur.add(rg, sg, i, need)
				}
			}
		}
		if cur.spans > 0 {
			out = append(out, b.finish(p, cur))
		}
	}
	return out
}

// draft is a body being filled.
type draft struct {
	size  int
	spans int
	res   []*draftRes
}

type draftRes struct {
	rg     *resGroup
	scopes []*draftScope
}

// draftScope is the run sg.items[from:to] of a scope group in a body.
type draftScope struct {
	sg       *scopeGroup
	from, to int
}

func (s *draftScope) items() []item { return s.sg.items[s.from:s.to] }

func newDraft() *draft { return &draft{size: jsonEnvelope} }

func (d *draft) hasRes(rg *resGroup) bool {
	return len(d.res) > 0 && d.res[len(d.res)-1].rg == rg
}

func (d *draft) has(sg *scopeGroup) bool {
	if len(d.res) == 0 {
		return false
	}
	r := d.res[len(d.res)-1]
	return len(r.scopes) > 0 && r.scopes[len(r.scopes)-1].sg == sg
}

// add puts sg.items[i], the item after the last one added, in d.
func (d *draft) add(rg *resGroup, sg *scopeGroup, i int, cost int) {
	if !d.hasRes(rg) {
		d.res = append(d.res, &draftRes{rg: rg})
	}
	r := d.res[len(d.res)-1]
	if len(r.scopes) == 0 || r.scopes[len(r.scopes)-1].sg != sg {
		r.scopes = append(r.scopes, &draftScope{sg: sg, from: i, to: i})
	}
	r.scopes[len(r.scopes)-1].to = i + 1
	d.size += cost
	d.spans++
}

// finish encodes a draft.
func (b *encoder) finish(p *partition, d *draft) *body {
	bd := &body{path: p.path, tenant: p.tenant, agent: p.agent, spans: d.spans, enc: b.enc}
	if b.enc == EncodingJSON {
		bd.data = d.appendJSON(make([]byte, 0, d.size))
	} else {
		bd.data = d.appendProto()
	}
	return bd
}

// appendProto writes the protobuf ExportTraceServiceRequest of d
// (TracesData: repeated ResourceSpans resource_spans = 1; ResourceSpans:
// resource = 1, repeated ScopeSpans scope_spans = 2, schema_url = 3;
// ScopeSpans: scope = 1, repeated Span spans = 2, schema_url = 3) from
// the sizes measured when the spans were added.
func (d *draft) appendProto() []byte {
	ssSize := func(s *draftScope) int {
		n := sizeLen(1, s.sg.size) + sizeString(3, s.sg.schema)
		for _, it := range s.items() {
			n += sizeLen(2, it.size)
		}
		return n
	}
	rsSize := func(r *draftRes) int {
		n := sizeLen(1, r.rg.size) + sizeString(3, r.rg.schema)
		for _, s := range r.scopes {
			n += sizeLen(2, ssSize(s))
		}
		return n
	}
	total := 0
	for _, r := range d.res {
		total += sizeLen(1, rsSize(r))
	}
	buf := make([]byte, 0, total)
	for _, r := range d.res {
		buf = appendLen(buf, 1, rsSize(r))
		buf = appendLen(buf, 1, r.rg.size)
		buf = appendResource(buf, r.rg.pb)
		for _, s := range r.scopes {
			buf = appendLen(buf, 2, ssSize(s))
			buf = appendLen(buf, 1, s.sg.size)
			buf = appendScope(buf, s.sg.pb)
			for _, it := range s.items() {
				buf = appendLen(buf, 2, it.size)
				buf = appendSpan(buf, it.pb)
			}
			buf = appendString(buf, 3, s.sg.schema)
		}
		buf = appendString(buf, 3, r.rg.schema)
	}
	return buf
}

// appendJSON writes the OTLP/JSON ExportTraceServiceRequest of d from the
// protojson encodings of its resources, scopes and spans.
func (d *draft) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"resourceSpans":[`...)
	for i, r := range d.res {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"resource":`...)
		buf = append(buf, r.rg.json...)
		buf = append(buf, `,"scopeSpans":[`...)
		for j, s := range r.scopes {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, `{"scope":`...)
			buf = append(buf, s.sg.json...)
			buf = append(buf, `,"spans":[`...)
			for k, it := range s.items() {
				if k > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, it.json...)
			}
			buf = append(buf, ']')
			buf = appendJSONField(buf, "schemaUrl", s.sg.schema)
			buf = append(buf, '}')
		}
		buf = append(buf, ']')
		buf = appendJSONField(buf, "schemaUrl", r.rg.schema)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

func appendJSONField(buf []byte, name, value string) []byte {
	if value == "" {
		return buf
	}
	q, _ := json.Marshal(value)
	buf = append(buf, ',', '"')
	buf = append(buf, name...)
	buf = append(buf, '"', ':')
	return append(buf, q...)
}
