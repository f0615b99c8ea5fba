package audit

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// The protobuf encoding of the OTLP messages the exporter builds, written
// with protowire. It produces exactly the bytes of proto.Marshal for
// every field of these messages (tests compare them), about five times
// faster: proto.Marshal goes through reflection for every oneof
// (AnyValue), and its cost dominated the export. Fields are written in
// field-number order; proto3 scalars only when not zero; message fields
// and oneof members whenever set. The messages are the exporter's own,
// which hold no unknown fields; every declared field is written, the
// string-table fields of OTLP profiles (key_strindex,
// string_value_strindex) and entity references included.

func sizeTag(num protowire.Number) int { return protowire.SizeTag(num) }

// sizeLen is the size of a length-delimited field of n bytes.
func sizeLen(num protowire.Number, n int) int { return sizeTag(num) + protowire.SizeBytes(n) }

func appendLen(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func sizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return sizeLen(num, len(s))
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func sizeBytes(num protowire.Number, v []byte) int {
	if len(v) == 0 {
		return 0
	}
	return sizeLen(num, len(v))
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return sizeTag(num) + protowire.SizeVarint(v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func sizeFixed64(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return sizeTag(num) + 8
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func sizeFixed32(num protowire.Number, v uint32) int {
	if v == 0 {
		return 0
	}
	return sizeTag(num) + 4
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}

// int32 fields are sign-extended to 64 bits on the wire.
func int32Wire(v int32) uint64 { return uint64(int64(v)) }

// AnyValue: oneof value { string 1, bool 2, int64 3, double 4,
// ArrayValue 5, KeyValueList 6, bytes 7, int32 string_value_strindex 8 }.
func sizeAnyValue(v *commonpb.AnyValue) int {
	n := 0
	switch t := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		n += sizeLen(1, len(t.StringValue))
	case *commonpb.AnyValue_BoolValue:
		n += sizeTag(2) + 1
	case *commonpb.AnyValue_IntValue:
		n += sizeTag(3) + protowire.SizeVarint(uint64(t.IntValue))
	case *commonpb.AnyValue_DoubleValue:
		n += sizeTag(4) + 8
	case *commonpb.AnyValue_ArrayValue:
		n += sizeLen(5, sizeArrayValue(t.ArrayValue))
	case *commonpb.AnyValue_KvlistValue:
		n += sizeLen(6, sizeKeyValueList(t.KvlistValue))
	case *commonpb.AnyValue_BytesValue:
		n += sizeLen(7, len(t.BytesValue))
	case *commonpb.AnyValue_StringValueStrindex:
		n += sizeTag(8) + protowire.SizeVarint(int32Wire(t.StringValueStrindex))
	}
	return n
}

func appendAnyValue(b []byte, v *commonpb.AnyValue) []byte {
	switch t := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, t.StringValue)
	case *commonpb.AnyValue_BoolValue:
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(t.BoolValue))
	case *commonpb.AnyValue_IntValue:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t.IntValue))
	case *commonpb.AnyValue_DoubleValue:
		b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(t.DoubleValue))
	case *commonpb.AnyValue_ArrayValue:
		b = appendLen(b, 5, sizeArrayValue(t.ArrayValue))
		b = appendArrayValue(b, t.ArrayValue)
	case *commonpb.AnyValue_KvlistValue:
		b = appendLen(b, 6, sizeKeyValueList(t.KvlistValue))
		b = appendKeyValueList(b, t.KvlistValue)
	case *commonpb.AnyValue_BytesValue:
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, t.BytesValue)
	case *commonpb.AnyValue_StringValueStrindex:
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, int32Wire(t.StringValueStrindex))
	}
	return b
}

// ArrayValue: repeated AnyValue values = 1. A nil message element is
// written as an empty one, as proto.Marshal does.
func sizeArrayValue(v *commonpb.ArrayValue) int {
	n := 0
	for _, e := range v.GetValues() {
		n += sizeLen(1, sizeAnyValue(e))
	}
	return n
}

func appendArrayValue(b []byte, v *commonpb.ArrayValue) []byte {
	for _, e := range v.GetValues() {
		b = appendLen(b, 1, sizeAnyValue(e))
		b = appendAnyValue(b, e)
	}
	return b
}

// KeyValueList: repeated KeyValue values = 1.
func sizeKeyValueList(v *commonpb.KeyValueList) int {
	return sizeKeyValues(1, v.GetValues())
}

func appendKeyValueList(b []byte, v *commonpb.KeyValueList) []byte {
	b = appendKeyValues(b, 1, v.GetValues())
	return b
}

// KeyValue: string key = 1; AnyValue value = 2; int32 key_strindex = 3.
func sizeKeyValue(kv *commonpb.KeyValue) int {
	n := sizeString(1, kv.Key) + sizeVarint(3, int32Wire(kv.KeyStrindex))
	if kv.Value != nil {
		n += sizeLen(2, sizeAnyValue(kv.Value))
	}
	return n
}

func appendKeyValue(b []byte, kv *commonpb.KeyValue) []byte {
	b = appendString(b, 1, kv.Key)
	if kv.Value != nil {
		b = appendLen(b, 2, sizeAnyValue(kv.Value))
		b = appendAnyValue(b, kv.Value)
	}
	b = appendVarint(b, 3, int32Wire(kv.KeyStrindex))
	return b
}

// sizeKeyValues is the size of a repeated KeyValue field num.
func sizeKeyValues(num protowire.Number, kvs []*commonpb.KeyValue) int {
	n := 0
	for _, kv := range kvs {
		n += sizeLen(num, sizeKeyValue(kv))
	}
	return n
}

func appendKeyValues(b []byte, num protowire.Number, kvs []*commonpb.KeyValue) []byte {
	for _, kv := range kvs {
		b = appendLen(b, num, sizeKeyValue(kv))
		b = appendKeyValue(b, kv)
	}
	return b
}

// Resource: repeated KeyValue attributes = 1; uint32
// dropped_attributes_count = 2; repeated EntityRef entity_refs = 3
// (never set by the exporter; encoded by proto when present).
func sizeResource(r *resourcepb.Resource) int {
	n := sizeKeyValues(1, r.GetAttributes()) + sizeVarint(2, uint64(r.GetDroppedAttributesCount()))
	for _, e := range r.GetEntityRefs() {
		n += sizeLen(3, proto.Size(e))
	}
	return n
}

func appendResource(b []byte, r *resourcepb.Resource) []byte {
	b = appendKeyValues(b, 1, r.GetAttributes())
	b = appendVarint(b, 2, uint64(r.GetDroppedAttributesCount()))
	for _, e := range r.GetEntityRefs() {
		b = appendLen(b, 3, proto.Size(e))
		b, _ = proto.MarshalOptions{}.MarshalAppend(b, e)
	}
	return b
}

// InstrumentationScope: string name = 1; string version = 2; repeated
// KeyValue attributes = 3; uint32 dropped_attributes_count = 4.
func sizeScope(s *commonpb.InstrumentationScope) int {
	return sizeString(1, s.GetName()) + sizeString(2, s.GetVersion()) + sizeKeyValues(3, s.GetAttributes()) +
		sizeVarint(4, uint64(s.GetDroppedAttributesCount()))
}

func appendScope(b []byte, s *commonpb.InstrumentationScope) []byte {
	b = appendString(b, 1, s.GetName())
	b = appendString(b, 2, s.GetVersion())
	b = appendKeyValues(b, 3, s.GetAttributes())
	b = appendVarint(b, 4, uint64(s.GetDroppedAttributesCount()))
	return b
}

// Span: see trace.proto; field numbers in the comments.
func sizeSpan(s *tracepb.Span) int {
	n := sizeBytes(1, s.TraceId) + sizeBytes(2, s.SpanId) + sizeString(3, s.TraceState) +
		sizeBytes(4, s.ParentSpanId) + sizeString(5, s.Name) + sizeVarint(6, uint64(int64(s.Kind))) +
		sizeFixed64(7, s.StartTimeUnixNano) + sizeFixed64(8, s.EndTimeUnixNano) +
		sizeKeyValues(9, s.Attributes) + sizeVarint(10, uint64(s.DroppedAttributesCount)) +
		sizeVarint(12, uint64(s.DroppedEventsCount)) + sizeVarint(14, uint64(s.DroppedLinksCount)) +
		sizeFixed32(16, s.Flags)
	for _, e := range s.Events {
		n += sizeLen(11, sizeEvent(e))
	}
	for _, l := range s.Links {
		n += sizeLen(13, sizeLink(l))
	}
	if s.Status != nil {
		n += sizeLen(15, sizeStatus(s.Status))
	}
	return n
}

func appendSpan(b []byte, s *tracepb.Span) []byte {
	b = appendBytes(b, 1, s.TraceId)
	b = appendBytes(b, 2, s.SpanId)
	b = appendString(b, 3, s.TraceState)
	b = appendBytes(b, 4, s.ParentSpanId)
	b = appendString(b, 5, s.Name)
	b = appendVarint(b, 6, uint64(int64(s.Kind)))
	b = appendFixed64(b, 7, s.StartTimeUnixNano)
	b = appendFixed64(b, 8, s.EndTimeUnixNano)
	b = appendKeyValues(b, 9, s.Attributes)
	b = appendVarint(b, 10, uint64(s.DroppedAttributesCount))
	for _, e := range s.Events {
		b = appendLen(b, 11, sizeEvent(e))
		b = appendEvent(b, e)
	}
	b = appendVarint(b, 12, uint64(s.DroppedEventsCount))
	for _, l := range s.Links {
		b = appendLen(b, 13, sizeLink(l))
		b = appendLink(b, l)
	}
	b = appendVarint(b, 14, uint64(s.DroppedLinksCount))
	if s.Status != nil {
		b = appendLen(b, 15, sizeStatus(s.Status))
		b = appendStatus(b, s.Status)
	}
	b = appendFixed32(b, 16, s.Flags)
	return b
}

// Span.Event: fixed64 time_unix_nano = 1; string name = 2; repeated
// KeyValue attributes = 3; uint32 dropped_attributes_count = 4.
func sizeEvent(e *tracepb.Span_Event) int {
	return sizeFixed64(1, e.TimeUnixNano) + sizeString(2, e.Name) + sizeKeyValues(3, e.Attributes) +
		sizeVarint(4, uint64(e.DroppedAttributesCount))
}

func appendEvent(b []byte, e *tracepb.Span_Event) []byte {
	b = appendFixed64(b, 1, e.TimeUnixNano)
	b = appendString(b, 2, e.Name)
	b = appendKeyValues(b, 3, e.Attributes)
	b = appendVarint(b, 4, uint64(e.DroppedAttributesCount))
	return b
}

// Span.Link: bytes trace_id = 1; bytes span_id = 2; string trace_state =
// 3; repeated KeyValue attributes = 4; uint32 dropped_attributes_count =
// 5; fixed32 flags = 6.
func sizeLink(l *tracepb.Span_Link) int {
	return sizeBytes(1, l.TraceId) + sizeBytes(2, l.SpanId) + sizeString(3, l.TraceState) +
		sizeKeyValues(4, l.Attributes) + sizeVarint(5, uint64(l.DroppedAttributesCount)) +
		sizeFixed32(6, l.Flags)
}

func appendLink(b []byte, l *tracepb.Span_Link) []byte {
	b = appendBytes(b, 1, l.TraceId)
	b = appendBytes(b, 2, l.SpanId)
	b = appendString(b, 3, l.TraceState)
	b = appendKeyValues(b, 4, l.Attributes)
	b = appendVarint(b, 5, uint64(l.DroppedAttributesCount))
	b = appendFixed32(b, 6, l.Flags)
	return b
}

// Status: string message = 2; StatusCode code = 3.
func sizeStatus(s *tracepb.Status) int {
	return sizeString(2, s.Message) + sizeVarint(3, uint64(int64(s.Code)))
}

func appendStatus(b []byte, s *tracepb.Status) []byte {
	b = appendString(b, 2, s.Message)
	b = appendVarint(b, 3, uint64(int64(s.Code)))
	return b
}
