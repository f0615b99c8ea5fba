package audit

import (
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// OTLP span flags (trace/v1 SpanFlags): the parent's or link's remoteness.
const (
	flagHasIsRemote = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	flagIsRemote    = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
)

// converter turns SDK spans into OTLP messages, redacting every attribute
// and scrubbing every free-text field on the way, so that nothing secret
// reaches a message.
type converter struct {
	red *redactor
	mem *arena // allocates the messages of one export
	// jsonIDs stores ids so that protojson writes them as hex, as OTLP/JSON
	// requires (see id).
	jsonIDs bool
}

// id returns the bytes to put in an OTLP id field. For protobuf that is
// the id. For JSON it is the base64 decoding of the id's hex form:
// protojson writes a bytes field as standard base64, and hex digits are
// base64 characters in groups of four (16 or 32 of them), so the
// base64 of those bytes is exactly the hex form OTLP/JSON asks for.
func (c *converter) id(b []byte) []byte {
	if !c.jsonIDs {
		return c.mem.id(b)
	}
	out, err := base64.StdEncoding.DecodeString(hex.EncodeToString(b))
	if err != nil { // cannot happen for 8 or 16 bytes
		return b
	}
	return out
}

// span converts one span.
func (c *converter) span(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	p := c.mem.spans.next()
	p.TraceId = c.id(tid[:])
	p.SpanId = c.id(sid[:])
	if ts := sc.TraceState(); ts.Len() > 0 {
		p.TraceState = ts.String()
	}
	p.Flags = uint32(sc.TraceFlags()) | flagHasIsRemote
	p.Name = scrub(validUTF8(s.Name()))
	p.Kind = spanKind(s.SpanKind())
	p.StartTimeUnixNano = unixNano(s.StartTime())
	p.EndTimeUnixNano = unixNano(s.EndTime())
	p.Attributes = c.attrs(s.Attributes())
	p.DroppedAttributesCount = clampCount(s.DroppedAttributes())
	p.DroppedEventsCount = clampCount(s.DroppedEvents())
	p.DroppedLinksCount = clampCount(s.DroppedLinks())
	p.Status = c.status(s.Status())
	if parent := s.Parent(); parent.IsValid() {
		psid := parent.SpanID()
		p.ParentSpanId = c.id(psid[:])
		if parent.IsRemote() {
			p.Flags |= flagIsRemote
		}
	}
	if events := s.Events(); len(events) > 0 {
		p.Events = make([]*tracepb.Span_Event, len(events))
		for i, ev := range events {
			p.Events[i] = &tracepb.Span_Event{
				TimeUnixNano:           unixNano(ev.Time),
				Name:                   scrub(validUTF8(ev.Name)),
				Attributes:             c.attrs(ev.Attributes),
				DroppedAttributesCount: clampCount(ev.DroppedAttributeCount),
			}
		}
	}
	if links := s.Links(); len(links) > 0 {
		p.Links = make([]*tracepb.Span_Link, len(links))
		for i, l := range links {
			ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
			flags := uint32(l.SpanContext.TraceFlags()) | flagHasIsRemote
			if l.SpanContext.IsRemote() {
				flags |= flagIsRemote
			}
			p.Links[i] = &tracepb.Span_Link{
				TraceId:                c.id(ltid[:]),
				SpanId:                 c.id(lsid[:]),
				TraceState:             l.SpanContext.TraceState().String(),
				Attributes:             c.attrs(l.Attributes),
				DroppedAttributesCount: clampCount(l.DroppedAttributeCount),
				Flags:                  flags,
			}
		}
	}
	return p
}

// resource converts a resource; nil is an empty resource.
func (c *converter) resource(r *resource.Resource) *resourcepb.Resource {
	if r == nil {
		return &resourcepb.Resource{}
	}
	return &resourcepb.Resource{Attributes: c.attrs(r.Attributes())}
}

// scope converts an instrumentation scope.
func (c *converter) scope(s instrumentation.Scope) *commonpb.InstrumentationScope {
	return &commonpb.InstrumentationScope{
		Name:       validUTF8(s.Name),
		Version:    validUTF8(s.Version),
		Attributes: c.attrs(s.Attributes.ToSlice()),
	}
}

// attrs converts attributes, redacting secret values.
func (c *converter) attrs(kvs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := c.mem.kvPtrs.take(len(kvs))
	for i, kv := range kvs {
		key := validUTF8(string(kv.Key))
		dst := c.mem.kvs.next()
		dst.Key = key
		dst.Value = c.mem.vals.next()
		c.fill(dst.Value, c.red.action(key), kv.Value)
		out[i] = dst
	}
	return out
}

// fill sets dst to v, as act says.
func (c *converter) fill(dst *commonpb.AnyValue, act keyAction, v attribute.Value) {
	if act == redactAlways {
		dst.Value = &commonpb.AnyValue_StringValue{StringValue: Redacted}
		return
	}
	switch v.Type() {
	case attribute.BOOL:
		w := c.mem.bools.next()
		w.BoolValue = v.AsBool()
		dst.Value = w
	case attribute.INT64:
		w := c.mem.ints.next()
		w.IntValue = v.AsInt64()
		dst.Value = w
	case attribute.FLOAT64:
		w := c.mem.doubles.next()
		w.DoubleValue = v.AsFloat64()
		dst.Value = w
	case attribute.STRING:
		if act == redactSecret {
			c.mem.stringValue(dst, Redacted)
			return
		}
		c.mem.stringValue(dst, scrub(validUTF8(v.AsString())))
	case attribute.BOOLSLICE:
		bs := v.AsBoolSlice()
		arr := make([]*commonpb.AnyValue, len(bs))
		for i, b := range bs {
			arr[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: b}}
		}
		dst.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: arr}}
	case attribute.INT64SLICE:
		is := v.AsInt64Slice()
		arr := make([]*commonpb.AnyValue, len(is))
		for i, n := range is {
			arr[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
		}
		dst.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: arr}}
	case attribute.FLOAT64SLICE:
		fs := v.AsFloat64Slice()
		arr := make([]*commonpb.AnyValue, len(fs))
		for i, f := range fs {
			arr[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
		}
		dst.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: arr}}
	case attribute.STRINGSLICE:
		if act == redactSecret {
			dst.Value = &commonpb.AnyValue_StringValue{StringValue: Redacted}
			return
		}
		ss := v.AsStringSlice()
		arr := make([]*commonpb.AnyValue, len(ss))
		for i, s := range ss {
			arr[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: scrub(validUTF8(s))}}
		}
		dst.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: arr}}
	case attribute.BYTESLICE:
		if act == redactSecret {
			dst.Value = &commonpb.AnyValue_StringValue{StringValue: Redacted}
			return
		}
		dst.Value = &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}
	case attribute.SLICE:
		if act == redactSecret {
			dst.Value = &commonpb.AnyValue_StringValue{StringValue: Redacted}
			return
		}
		vs := v.AsSlice()
		arr := make([]*commonpb.AnyValue, len(vs))
		for i, e := range vs {
			arr[i] = &commonpb.AnyValue{}
			c.fill(arr[i], keepValue, e)
		}
		dst.Value = &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: arr}}
	case attribute.MAP:
		if act == redactSecret {
			dst.Value = &commonpb.AnyValue_StringValue{StringValue: Redacted}
			return
		}
		// Nested keys are redacted by the same rules as top-level keys.
		dst.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: c.attrs(v.AsMap())}}
	default:
		// attribute.EMPTY, and any type added later: an empty value.
		dst.Value = nil
	}
}

// status converts a span status. OTLP numbers its codes differently
// from the OTel API (Ok is 1 and Error 2 on the wire).
func (c *converter) status(s sdktrace.Status) *tracepb.Status {
	switch s.Code {
	case codes.Error:
		return &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: scrub(validUTF8(s.Description))}
	case codes.Ok:
		return &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	}
	return nil
}

// spanKind maps an API span kind to its OTLP value.
func spanKind(k trace.SpanKind) tracepb.Span_SpanKind {
	switch k {
	case trace.SpanKindInternal:
		return tracepb.Span_SPAN_KIND_INTERNAL
	case trace.SpanKindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case trace.SpanKindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	case trace.SpanKindProducer:
		return tracepb.Span_SPAN_KIND_PRODUCER
	case trace.SpanKindConsumer:
		return tracepb.Span_SPAN_KIND_CONSUMER
	}
	return tracepb.Span_SPAN_KIND_UNSPECIFIED
}

// validUTF8 returns s, with invalid UTF-8 sequences replaced by U+FFFD:
// protobuf refuses to encode a string field that is not valid UTF-8.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// unixNano returns t in nanoseconds since the epoch, 0 for the zero time.
func unixNano(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// clampCount returns n as a uint32, 0 when negative.
func clampCount(n int) uint32 {
	if n <= 0 {
		return 0
	}
	return uint32(min(n, 1<<32-1))
}
