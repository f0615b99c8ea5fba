package agentidtest

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// FuzzRegistryCheck feeds arbitrary bytes to the check of protobuf
// bodies: it never panics, and a body it accepts decodes, with the span
// ids it reported.
func FuzzRegistryCheck(f *testing.F) {
	good, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{
		Spans: []*tracepb.Span{{SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8}, Name: "a"}, {Name: "b"}},
	}}}}})
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00})
	f.Add(good[:len(good)-1])
	f.Fuzz(func(t *testing.T, b []byte) {
		var ids [][]byte
		if err := checkTraces(b, func(id []byte) { ids = append(ids, id) }); err != nil {
			return
		}
		td := &tracepb.TracesData{}
		if err := proto.Unmarshal(b, td); err != nil {
			t.Fatalf("checkTraces accepted a body proto.Unmarshal refuses: %v", err)
		}
		var want [][]byte
		for _, rs := range td.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					want = append(want, s.SpanId)
				}
			}
		}
		if len(ids) != len(want) {
			t.Fatalf("checkTraces reported %d spans, the body holds %d", len(ids), len(want))
		}
		for i := range ids {
			if !bytes.Equal(ids[i], want[i]) {
				t.Fatalf("span %d: id %x reported, %x decoded", i, ids[i], want[i])
			}
		}
	})
}
