package agentidtest_test

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"google.golang.org/protobuf/proto"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// A registry receives OTLP/HTTP traces and tells what arrived.
func ExampleRegistry() {
	reg, err := agentidtest.StartRegistry()
	if err != nil {
		panic(err)
	}
	defer reg.Close()

	body, _ := proto.Marshal(&tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{
			TraceId: bytes.Repeat([]byte{1}, 16), SpanId: []byte{2, 2, 2, 2, 2, 2, 2, 2}, Name: "execute_tool lookup",
		}}}},
	}}})
	reg.FailNext(1, http.StatusServiceUnavailable)
	for range 2 {
		resp, err := http.Post(reg.TracesURL(), "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	for _, s := range reg.Spans() {
		fmt.Println(s.SpanID, s.Name, reg.SpanCount(s.SpanID))
	}
	// Output:
	// 503
	// 200
	// 0202020202020202 execute_tool lookup 1
}
