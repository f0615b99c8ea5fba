package audit

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func intAttr(k string, v int64) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
}

func strAttr(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func measureProto(m proto.Message) ([]byte, int) { return nil, proto.Size(m) }

func markerKeys(t *testing.T, s *tracepb.Span) []string {
	t.Helper()
	var truncated bool
	var keys []string
	for _, kv := range s.Attributes {
		switch kv.Key {
		case AttrTruncated:
			truncated = kv.GetValue().GetBoolValue()
		case AttrTruncatedKeys:
			for _, v := range kv.GetValue().GetArrayValue().GetValues() {
				keys = append(keys, v.GetStringValue())
			}
		}
	}
	if !truncated {
		t.Fatalf("span lacks %s = true", AttrTruncated)
	}
	return keys
}

func TestTruncateDropsWhenStringsAreNotEnough(t *testing.T) {
	span := &tracepb.Span{Name: "many numbers", Events: []*tracepb.Span_Event{{Name: "e", Attributes: []*commonpb.KeyValue{strAttr("big", strings.Repeat("e", 3000))}}}}
	for i := range 2000 {
		span.Attributes = append(span.Attributes, intAttr("n"+strconv.Itoa(i), int64(i)<<40))
	}
	const limit = 4 << 10
	truncate(span, limit, measureProto)
	if n := proto.Size(span); n > limit {
		t.Fatalf("size %d after truncate, want at most %d", n, limit)
	}
	keys := markerKeys(t, span)
	if !slices.Contains(keys, "event[0].big") {
		t.Errorf("keys %v do not list the shortened event attribute", keys)
	}
	if span.DroppedAttributesCount == 0 || len(span.Attributes) >= 2000 {
		t.Errorf("dropped %d attributes, %d left: want attributes dropped", span.DroppedAttributesCount, len(span.Attributes))
	}
}

func TestTruncateDropsEvents(t *testing.T) {
	span := &tracepb.Span{Name: "events"}
	for i := range 300 {
		span.Events = append(span.Events, &tracepb.Span_Event{Name: "event " + strconv.Itoa(i), TimeUnixNano: uint64(i + 1)})
	}
	truncate(span, 2<<10, measureProto)
	if n := proto.Size(span); n > 2<<10 {
		t.Fatalf("size %d, want at most 2 KiB", n)
	}
	if keys := markerKeys(t, span); !slices.Contains(keys, "events") || span.DroppedEventsCount != 300 {
		t.Errorf("keys %v, dropped events %d: want the events dropped and listed", keys, span.DroppedEventsCount)
	}
}

func TestTruncateLeavesSmallSpans(t *testing.T) {
	span := &tracepb.Span{Name: "small", Attributes: []*commonpb.KeyValue{strAttr("a", "b")}}
	want := proto.Clone(span)
	truncate(span, 1<<10, measureProto)
	if !proto.Equal(span, want) {
		t.Error("truncate changed a span under the bound")
	}
}

func TestWaterLevel(t *testing.T) {
	for _, tc := range []struct {
		lens   []int
		excess int
		level  int
		ok     bool
	}{
		{[]int{100, 10}, 50, 50, true},
		{[]int{100, 100}, 50, 75, true},
		{[]int{100, 60, 10}, 80, 40, true},
		{[]int{10}, 50, 0, false},
		{nil, 5, 0, false},
	} {
		level, ok := waterLevel(tc.lens, tc.excess)
		if level != tc.level || ok != tc.ok {
			t.Errorf("waterLevel(%v, %d) = %d, %v, want %d, %v", tc.lens, tc.excess, level, ok, tc.level, tc.ok)
		}
	}
}

func TestSensitiveKeys(t *testing.T) {
	r := &redactor{keys: map[string]bool{"customer.ssn": true}}
	for key, want := range map[string]keyAction{
		"http.request.header.authorization": redactSecret,
		"X-Api-Key":                         redactSecret,
		"session_TOKEN":                     redactSecret,
		"db.password":                       redactSecret,
		"gen_ai.usage.input_tokens":         redactSecret, // numbers under it are kept by fill
		"passport.token.flow":               keepValue,
		"customer.ssn":                      redactAlways,
		"gen_ai.tool.name":                  keepValue,
		strings.Repeat("k", 200) + "secret": redactSecret,
	} {
		for range 2 { // the second time from the cache
			if got := r.action(key); got != want {
				t.Errorf("action(%q) = %d, want %d", key, got, want)
			}
		}
	}
}
