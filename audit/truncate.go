package audit

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Attributes the exporter adds to a span it truncated (see
// [WithMaxSpanBytes]). They are the exporter's own.
const (
	// AttrTruncated is true on a span whose attributes were shortened or
	// dropped to fit the span bound.
	AttrTruncated = "passport.truncated"
	// AttrTruncatedKeys lists what was shortened or dropped: attribute
	// keys, "event[i].key" for an event's attribute, and "events" or
	// "links" when they were dropped.
	AttrTruncatedKeys = "passport.truncated.keys"
)

// slot is one string value that truncation may shorten.
type slot struct {
	v   *commonpb.AnyValue_StringValue
	key string
}

// truncate shrinks span until measure reports at most limit bytes: first
// the largest strings (attribute values, string array elements, event
// attributes) are cut to a common length, then, if that is not enough,
// events, links and the largest attributes are dropped. What it changed
// is listed in the attributes AttrTruncated and AttrTruncatedKeys.
func truncate(span *tracepb.Span, limit int, measure func(proto.Message) ([]byte, int)) {
	_, size := measure(span)
	if size <= limit {
		return
	}
	var marked []string
	mark := func(key string) {
		if !slices.Contains(marked, key) {
			marked = append(marked, key)
		}
	}
	slots := stringSlots(span)
	// Room for the marker: at most maxMarkedKeys keys of maxMarkedKey
	// bytes.
	reserve := 64
	for i, s := range slots {
		if i == maxMarkedKeys {
			break
		}
		reserve += min(len(s.key), maxMarkedKey) + 4
	}
	lens := make([]int, len(slots))
	for round := 0; round < 8 && size > limit; round++ {
		for i, s := range slots {
			lens[i] = len(s.v.StringValue)
		}
		excess := size - limit
		if round == 0 {
			excess += reserve
		}
		level, enough := waterLevel(lens, excess)
		cut := false
		for _, s := range slots {
			if len(s.v.StringValue) > level {
				s.v.StringValue = cutUTF8(s.v.StringValue, level)
				mark(s.key)
				cut = true
			}
		}
		setMarker(span, marked)
		_, size = measure(span)
		if !cut || !enough {
			break
		}
	}
	if size > limit && len(span.Events) > 0 {
		span.DroppedEventsCount += uint32(len(span.Events))
		span.Events = nil
		mark("events")
		setMarker(span, marked)
		_, size = measure(span)
	}
	if size > limit && len(span.Links) > 0 {
		span.DroppedLinksCount += uint32(len(span.Links))
		span.Links = nil
		mark("links")
		setMarker(span, marked)
		_, size = measure(span)
	}
	// Last, drop the largest attributes, enough of them at once.
	for round := 0; round < 8 && size > limit; round++ {
		var idx []int
		for i, kv := range span.Attributes {
			if kv.Key != AttrTruncated && kv.Key != AttrTruncatedKeys {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return // nothing left to drop; the span goes as it is
		}
		sizes := make(map[int]int, len(idx))
		for _, i := range idx {
			sizes[i] = sizeLen(9, sizeKeyValue(span.Attributes[i]))
		}
		slices.SortStableFunc(idx, func(a, b int) int { return sizes[b] - sizes[a] })
		excess, saved := size-limit+64, 0
		drop := map[int]bool{}
		for _, i := range idx {
			if saved >= excess {
				break
			}
			drop[i] = true
			saved += sizes[i]
			mark(span.Attributes[i].Key)
		}
		kept := span.Attributes[:0]
		for i, kv := range span.Attributes {
			if !drop[i] {
				kept = append(kept, kv)
			}
		}
		clear(span.Attributes[len(kept):])
		span.Attributes = kept
		span.DroppedAttributesCount += uint32(len(drop))
		setMarker(span, marked)
		_, size = measure(span)
	}
}

// The marker lists at most maxMarkedKeys keys, each cut to maxMarkedKey
// bytes; the last entry says how many more there were.
const (
	maxMarkedKeys = 16
	maxMarkedKey  = 64
)

// stringSlots returns the string values of span's attributes and of its
// events' attributes, string array elements included.
func stringSlots(span *tracepb.Span) []slot {
	var out []slot
	add := func(prefix string, kvs []*commonpb.KeyValue) {
		for _, kv := range kvs {
			if kv.Key == AttrTruncated || kv.Key == AttrTruncatedKeys {
				continue
			}
			switch v := kv.GetValue().GetValue().(type) {
			case *commonpb.AnyValue_StringValue:
				out = append(out, slot{v: v, key: prefix + kv.Key})
			case *commonpb.AnyValue_ArrayValue:
				for _, e := range v.ArrayValue.GetValues() {
					if sv, ok := e.GetValue().(*commonpb.AnyValue_StringValue); ok {
						out = append(out, slot{v: sv, key: prefix + kv.Key})
					}
				}
			}
		}
	}
	add("", span.Attributes)
	for i, ev := range span.Events {
		add("event["+strconv.Itoa(i)+"].", ev.Attributes)
	}
	return out
}

// waterLevel returns the length L such that cutting every length above L
// down to L removes at least excess bytes, and whether that is possible
// (else L is 0).
func waterLevel(lens []int, excess int) (int, bool) {
	if excess <= 0 {
		return slices.Max(append(lens, 0)), true
	}
	sorted := slices.Clone(lens)
	slices.Sort(sorted)
	slices.Reverse(sorted)
	sum := 0
	for k := 1; k <= len(sorted); k++ {
		sum += sorted[k-1]
		next := 0
		if k < len(sorted) {
			next = sorted[k]
		}
		if sum-k*next >= excess {
			return max((sum-excess)/k, 0), true
		}
	}
	return 0, false
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does
// not end inside a UTF-8 sequence.
func cutUTF8(s string, n int) string {
	if n >= len(s) {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// setMarker sets the truncation attributes of span to list keys.
func setMarker(span *tracepb.Span, keys []string) {
	span.Attributes = slices.DeleteFunc(span.Attributes, func(kv *commonpb.KeyValue) bool {
		return kv.Key == AttrTruncated || kv.Key == AttrTruncatedKeys
	})
	listed := keys
	if len(keys) > maxMarkedKeys {
		listed = append(slices.Clone(keys[:maxMarkedKeys-1]), "+"+strconv.Itoa(len(keys)-maxMarkedKeys+1)+" more")
	}
	vals := make([]*commonpb.AnyValue, len(listed))
	for i, k := range listed {
		vals[i] = &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: cutUTF8(k, maxMarkedKey)}}
	}
	span.Attributes = append(span.Attributes,
		&commonpb.KeyValue{Key: AttrTruncated, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}},
		&commonpb.KeyValue{Key: AttrTruncatedKeys, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}}},
	)
}
