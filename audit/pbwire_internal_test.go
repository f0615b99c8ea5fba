package audit

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// randomValue returns an AnyValue of every kind, nested up to depth.
func randomValue(r *rand.Rand, depth int) *commonpb.AnyValue {
	kinds := 9
	if depth <= 0 {
		kinds = 7
	}
	switch r.IntN(kinds) {
	case 0:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: randomString(r)}}
	case 1:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: r.IntN(2) == 0}}
	case 2:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: int64(r.Uint64())}}
	case 3:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: []float64{0, -0.5, math.Inf(1), r.Float64()}[r.IntN(4)]}}
	case 4:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte(randomString(r))}}
	case 5:
		return &commonpb.AnyValue{} // empty
	case 6:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValueStrindex{StringValueStrindex: int32(r.IntN(3)) - 1}}
	case 7:
		arr := &commonpb.ArrayValue{}
		for range r.IntN(4) {
			arr.Values = append(arr.Values, randomValue(r, depth-1))
		}
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: arr}}
	default:
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: randomKVs(r, depth-1)}}}
	}
}

func randomString(r *rand.Rand) string {
	return []string{"", "a", "héllo", strings.Repeat("x", 200), strings.Repeat("y", 20000)}[r.IntN(5)]
}

func randomKVs(r *rand.Rand, depth int) []*commonpb.KeyValue {
	var kvs []*commonpb.KeyValue
	for range r.IntN(5) {
		kv := &commonpb.KeyValue{Key: randomString(r), KeyStrindex: int32(r.IntN(2))}
		if r.IntN(8) > 0 {
			kv.Value = randomValue(r, depth)
		}
		kvs = append(kvs, kv)
	}
	return kvs
}

func randomBytes(r *rand.Rand, n int) []byte {
	if r.IntN(4) == 0 {
		return nil
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func randomSpan(r *rand.Rand) *tracepb.Span {
	s := &tracepb.Span{
		TraceId: randomBytes(r, 16), SpanId: randomBytes(r, 8), ParentSpanId: randomBytes(r, 8),
		TraceState: randomString(r), Name: randomString(r), Kind: tracepb.Span_SpanKind(r.IntN(6)),
		StartTimeUnixNano: r.Uint64() >> uint(r.IntN(64)), EndTimeUnixNano: r.Uint64() >> uint(r.IntN(64)),
		Attributes: randomKVs(r, 3), DroppedAttributesCount: uint32(r.IntN(3)),
		DroppedEventsCount: uint32(r.IntN(3)), DroppedLinksCount: uint32(r.IntN(3)), Flags: r.Uint32() >> uint(r.IntN(32)),
	}
	for range r.IntN(3) {
		s.Events = append(s.Events, &tracepb.Span_Event{TimeUnixNano: r.Uint64(), Name: randomString(r), Attributes: randomKVs(r, 2), DroppedAttributesCount: uint32(r.IntN(2))})
	}
	for range r.IntN(3) {
		s.Links = append(s.Links, &tracepb.Span_Link{TraceId: randomBytes(r, 16), SpanId: randomBytes(r, 8), TraceState: randomString(r), Attributes: randomKVs(r, 2), DroppedAttributesCount: uint32(r.IntN(2)), Flags: r.Uint32()})
	}
	if r.IntN(2) == 0 {
		s.Status = &tracepb.Status{Message: randomString(r), Code: tracepb.Status_StatusCode(r.IntN(3))}
	}
	return s
}

// TestWireMatchesProtoMarshal checks that the protowire encoding of
// every message is byte for byte what proto.Marshal writes.
func TestWireMatchesProtoMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		span := randomSpan(r)
		want, err := proto.Marshal(span)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendSpan(nil, span); !bytes.Equal(got, want) {
			t.Fatalf("span %d: appendSpan differs from proto.Marshal:\n got %x\nwant %x", i, got, want)
		}
		if n := sizeSpan(span); n != len(want) {
			t.Fatalf("span %d: sizeSpan = %d, want %d", i, n, len(want))
		}
		res := &resourcepb.Resource{Attributes: randomKVs(r, 2), DroppedAttributesCount: uint32(r.IntN(2))}
		if got, want := appendResource(nil, res), mustMarshal(t, res); !bytes.Equal(got, want) || sizeResource(res) != len(want) {
			t.Fatalf("resource %d differs from proto.Marshal", i)
		}
		scope := &commonpb.InstrumentationScope{Name: randomString(r), Version: randomString(r), Attributes: randomKVs(r, 1), DroppedAttributesCount: uint32(r.IntN(2))}
		if got, want := appendScope(nil, scope), mustMarshal(t, scope); !bytes.Equal(got, want) || sizeScope(scope) != len(want) {
			t.Fatalf("scope %d differs from proto.Marshal", i)
		}
	}
}

// TestBodyMatchesProtoMarshal checks whole bodies, containers included.
func TestBodyMatchesProtoMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		enc := &encoder{conv: converter{red: &redactor{}, mem: getArena()}, enc: EncodingProtobuf, maxBody: 1 << 30, maxSpan: 1 << 29}
		p := enc.partition(plainPath, "", "")
		td := &tracepb.TracesData{}
		for range 1 + r.IntN(3) {
			rg := &resGroup{pb: &resourcepb.Resource{Attributes: randomKVs(r, 1)}, schema: randomString(r)}
			_, rg.size = enc.measure(rg.pb)
			rs := &tracepb.ResourceSpans{Resource: rg.pb, SchemaUrl: rg.schema}
			for range 1 + r.IntN(3) {
				sg := &scopeGroup{pb: &commonpb.InstrumentationScope{Name: randomString(r)}, schema: randomString(r)}
				_, sg.size = enc.measure(sg.pb)
				ss := &tracepb.ScopeSpans{Scope: sg.pb, SchemaUrl: sg.schema}
				for range 1 + r.IntN(4) {
					span := randomSpan(r)
					enc.add(rg, sg, span)
					ss.Spans = append(ss.Spans, span)
				}
				rg.scopes = append(rg.scopes, sg)
				rs.ScopeSpans = append(rs.ScopeSpans, ss)
			}
			p.resources = append(p.resources, rg)
			td.ResourceSpans = append(td.ResourceSpans, rs)
		}
		bodies := enc.bodies()
		if len(bodies) != 1 {
			t.Fatalf("%d bodies, want 1", len(bodies))
		}
		if want := mustMarshal(t, td); !bytes.Equal(bodies[0].data, want) {
			t.Fatalf("body differs from proto.Marshal of the TracesData (%d vs %d bytes)", len(bodies[0].data), len(want))
		}
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
