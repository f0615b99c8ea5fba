package agentidtest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/protobuf/proto"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

const (
	traceIDHex = "0102030405060708090a0b0c0d0e0f10"
	spanAHex   = "a1a2a3a4a5a6a7a8"
	spanBHex   = "b1b2b3b4b5b6b7b8"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// testTraces is a request with two spans: A (server, root) and B
// (client, child of A, with an event, a link and an error status).
func testTraces() *tracepb.TracesData {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "orders")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "scope", Version: "1.0"},
			Spans: []*tracepb.Span{
				{
					TraceId: mustHex(traceIDHex), SpanId: mustHex(spanAHex), Name: "invoke_agent orders",
					Kind: tracepb.Span_SPAN_KIND_SERVER, StartTimeUnixNano: 1_700_000_000_000_000_000, EndTimeUnixNano: 1_700_000_001_000_000_000,
					Attributes: []*commonpb.KeyValue{
						str("gen_ai.operation.name", "invoke_agent"),
						{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}},
						{Key: "list", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
							{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}},
							{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1.5}},
						}}}}},
						{Key: "map", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{str("k", "v")}}}}},
						{Key: "raw", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{1, 2}}}},
					},
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK},
				},
				{
					TraceId: mustHex(traceIDHex), SpanId: mustHex(spanBHex), ParentSpanId: mustHex(spanAHex), Name: "execute_tool lookup",
					Kind: tracepb.Span_SPAN_KIND_CLIENT, StartTimeUnixNano: 1_700_000_000_500_000_000, EndTimeUnixNano: 1_700_000_000_600_000_000,
					Events:     []*tracepb.Span_Event{{Name: "called", TimeUnixNano: 1_700_000_000_550_000_000, Attributes: []*commonpb.KeyValue{str("arg", "x")}}},
					Links:      []*tracepb.Span_Link{{TraceId: mustHex(traceIDHex), SpanId: mustHex(spanAHex), Attributes: []*commonpb.KeyValue{str("rel", "parent")}}},
					Status:     &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
					Attributes: []*commonpb.KeyValue{str("gen_ai.operation.name", "execute_tool")},
				},
			},
		}},
	}}}
}

// testTracesJSON is testTraces in OTLP/JSON: hex ids, enums as numbers,
// 64-bit integers as strings.
const testTracesJSON = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"orders"}}]},
"scopeSpans":[{"scope":{"name":"scope","version":"1.0"},"spans":[
{"traceId":"` + traceIDHex + `","spanId":"` + spanAHex + `","name":"invoke_agent orders","kind":2,
 "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000",
 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"invoke_agent"}},{"key":"n","value":{"intValue":"7"}},
  {"key":"list","value":{"arrayValue":{"values":[{"boolValue":true},{"doubleValue":1.5}]}}},
  {"key":"map","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}},
  {"key":"raw","value":{"bytesValue":"AQI="}}],
 "status":{"code":1}},
{"traceId":"` + traceIDHex + `","spanId":"` + spanBHex + `","parentSpanId":"` + spanAHex + `","name":"execute_tool lookup","kind":3,
 "startTimeUnixNano":"1700000000500000000","endTimeUnixNano":1700000000600000000,
 "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}}],
 "events":[{"timeUnixNano":"1700000000550000000","name":"called","attributes":[{"key":"arg","value":{"stringValue":"x"}}]}],
 "links":[{"traceId":"` + traceIDHex + `","spanId":"` + spanAHex + `","attributes":[{"key":"rel","value":{"stringValue":"parent"}}]}],
 "status":{"code":2,"message":"boom"}}]}]}]}`

func protoBody(t testing.TB) []byte {
	t.Helper()
	b, err := proto.Marshal(testTraces())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// post sends body to url with the content type and headers given.
func post(t testing.TB, url, contentType string, body []byte, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

var wantSpans = []agentidtest.ReceivedSpan{
	{
		TraceID: traceIDHex, SpanID: spanAHex, Name: "invoke_agent orders", Kind: trace.SpanKindServer,
		StartTime: time.Unix(1_700_000_000, 0), EndTime: time.Unix(1_700_000_001, 0), StatusCode: "Ok",
		Attributes: map[string]any{
			"gen_ai.operation.name": "invoke_agent", "n": int64(7), "list": []any{true, 1.5},
			"map": map[string]any{"k": "v"}, "raw": []byte{1, 2},
		},
		Resource: map[string]any{"service.name": "orders"}, Scope: "scope", ScopeVersion: "1.0", Path: "/v1/traces",
	},
	{
		TraceID: traceIDHex, SpanID: spanBHex, ParentSpanID: spanAHex, Name: "execute_tool lookup", Kind: trace.SpanKindClient,
		StartTime: time.Unix(1_700_000_000, 500_000_000), EndTime: time.Unix(1_700_000_000, 600_000_000),
		StatusCode: "Error", StatusMessage: "boom",
		Attributes: map[string]any{"gen_ai.operation.name": "execute_tool"},
		Events:     []agentidtest.ReceivedEvent{{Name: "called", Time: time.Unix(1_700_000_000, 550_000_000), Attributes: map[string]any{"arg": "x"}}},
		Links:      []agentidtest.ReceivedLink{{TraceID: traceIDHex, SpanID: spanAHex, Attributes: map[string]any{"rel": "parent"}}},
		Resource:   map[string]any{"service.name": "orders"}, Scope: "scope", ScopeVersion: "1.0", Path: "/v1/traces",
	},
}

func TestRegistryReceives(t *testing.T) {
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		header            map[string]string
	}{
		{"protobuf", "application/x-protobuf", protoBody(t), nil},
		{"json", "application/json", []byte(testTracesJSON), nil},
		{"json with charset", "application/json; charset=utf-8", []byte(testTracesJSON), nil},
		{"gzip protobuf", "application/x-protobuf", gz(protoBody(t)), map[string]string{"Content-Encoding": "gzip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := agentidtest.NewRegistry(t)
			resp, _ := post(t, reg.TracesURL(), tc.contentType, tc.body, tc.header)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			if diff := cmp.Diff(wantSpans, reg.Spans(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Spans() mismatch (-want +got):\n%s", diff)
			}
			for _, id := range []string{spanAHex, spanBHex} {
				if n := reg.SpanCount(id); n != 1 {
					t.Errorf("SpanCount(%s) = %d, want 1", id, n)
				}
			}
			reqs := reg.Requests()
			if len(reqs) != 1 || reqs[0].Spans != 2 || reqs[0].Status != 200 || reqs[0].Bytes != len(tc.body) || reqs[0].Path != "/v1/traces" || reqs[0].Authorization {
				t.Errorf("Requests() = %+v, want one request of 2 spans, %d bytes, answered 200", reqs, len(tc.body))
			}
		})
	}
}

func TestRegistryAgent365Route(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	path := "/observability/tenants/contoso%20t%2F1/otlp/agents/agent-1/traces"
	resp, _ := post(t, reg.URL()+path, "application/x-protobuf", protoBody(t), nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("without api-version: status %d, want 400", resp.StatusCode)
	}
	resp, _ = post(t, reg.URL()+path+"?api-version=1", "application/x-protobuf", protoBody(t), map[string]string{"Authorization": "Bearer secret-token-value"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	spans := reg.Spans()
	if len(spans) != 2 || spans[0].Tenant != "contoso t/1" || spans[0].Agent != "agent-1" || spans[0].Path != path+"?api-version=1" {
		t.Errorf("spans = %+v, want tenant %q agent %q", spans, "contoso t/1", "agent-1")
	}
	reqs := reg.Requests()
	if !reqs[len(reqs)-1].Authorization {
		t.Error("Authorization = false, want true")
	}
	if s := fmt.Sprintf("%+v %+v", reqs, spans); strings.Contains(s, "secret-token-value") {
		t.Error("the registry kept the bearer token")
	}
}

func TestRegistryRefuses(t *testing.T) {
	reg := agentidtest.NewRegistry(t, agentidtest.WithRegistryBodyLimit(64<<10))
	for _, tc := range []struct {
		name, contentType string
		body              []byte
		header            map[string]string
		want              int
	}{
		{"content type", "text/plain", protoBody(t), nil, http.StatusUnsupportedMediaType},
		{"garbage protobuf", "application/x-protobuf", []byte{0x0a, 0xff, 0x01}, nil, http.StatusBadRequest},
		{"wrong wire type", "application/x-protobuf", []byte{0x08, 0x01}, nil, http.StatusBadRequest},
		{"invalid utf-8", "application/x-protobuf", invalidUTF8Body(t), nil, http.StatusBadRequest},
		{"garbage json", "application/json", []byte(`{"resourceSpans":[`), nil, http.StatusBadRequest},
		{"json id not hex", "application/json", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"zz"}]}]}]}`), nil, http.StatusBadRequest},
		{"too large", "application/x-protobuf", make([]byte, 65<<10), nil, http.StatusRequestEntityTooLarge},
		{"unknown encoding", "application/x-protobuf", protoBody(t), map[string]string{"Content-Encoding": "br"}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := post(t, reg.TracesURL(), tc.contentType, tc.body, tc.header)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if n := reg.SpanTotal(); n != 0 {
		t.Errorf("SpanTotal = %d after refused requests, want 0", n)
	}
}

func invalidUTF8Body(t testing.TB) []byte {
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: []*tracepb.Span{{Name: "ok"}}}}}}}
	b, err := proto.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("ok"))
	b[i] = 0xff
	return b
}

func TestRegistryFaults(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	reg.FailNext(2, http.StatusServiceUnavailable)
	reg.ThrottleNext(1, 1500*time.Millisecond)
	reg.PartialSuccessNext(1, 1, "one too old")
	var statuses []int
	var retryAfter string
	for range 4 {
		resp, _ := post(t, reg.TracesURL(), "application/x-protobuf", protoBody(t), nil)
		statuses = append(statuses, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			retryAfter = resp.Header.Get("Retry-After")
		}
	}
	if want := []int{429, 503, 503, 200}; !cmp.Equal(statuses, want) {
		t.Errorf("statuses = %v, want %v (throttling first)", statuses, want)
	}
	if retryAfter != "2" {
		t.Errorf("Retry-After = %q, want 2 (1.5 s rounded up)", retryAfter)
	}
	if got := reg.SpanTotal(); got != 1 {
		t.Errorf("SpanTotal = %d, want 1: the partial success stored all but the rejected span", got)
	}

	// Partial success in JSON.
	reg.Reset()
	reg.PartialSuccessNext(1, 2, "both")
	resp, body := post(t, reg.TracesURL(), "application/json", []byte(testTracesJSON), nil)
	var got struct {
		PartialSuccess struct {
			RejectedSpans string `json:"rejectedSpans"`
			ErrorMessage  string `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 || got.PartialSuccess.RejectedSpans != "2" || got.PartialSuccess.ErrorMessage != "both" {
		t.Errorf("answer %d %s (%v), want a partial success of 2", resp.StatusCode, body, err)
	}
	if reg.SpanTotal() != 0 {
		t.Errorf("SpanTotal = %d, want 0", reg.SpanTotal())
	}
}

func TestRegistrySetDown(t *testing.T) {
	reg := agentidtest.NewRegistry(t)
	url := reg.URL()
	reg.SetDown(true)
	_, err := http.Post(reg.TracesURL(), "application/x-protobuf", bytes.NewReader(protoBody(t)))
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("POST while down: %v, want connection refused", err)
	}
	reg.SetDown(true) // idempotent
	reg.SetDown(false)
	if reg.URL() != url {
		t.Errorf("URL changed from %s to %s", url, reg.URL())
	}
	resp, _ := post(t, reg.TracesURL(), "application/x-protobuf", protoBody(t), nil)
	if resp.StatusCode != http.StatusOK || reg.SpanTotal() != 2 {
		t.Errorf("after SetDown(false): status %d, %d spans, want 200 and 2", resp.StatusCode, reg.SpanTotal())
	}
}

func TestRegistryRequireBearer(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	good, err := a.IssueToken(map[string]any{"azp": "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	reg := agentidtest.NewRegistry(t)
	reg.RequireBearer(func(token string) error {
		if token != good {
			return errors.New("unknown token")
		}
		return nil
	})
	for _, tc := range []struct {
		header map[string]string
		want   int
	}{
		{nil, http.StatusUnauthorized},
		{map[string]string{"Authorization": "Bearer wrong"}, http.StatusUnauthorized},
		{map[string]string{"Authorization": "Basic " + good}, http.StatusUnauthorized},
		{map[string]string{"Authorization": "Bearer " + good}, http.StatusOK},
	} {
		resp, _ := post(t, reg.TracesURL(), "application/x-protobuf", protoBody(t), tc.header)
		if resp.StatusCode != tc.want {
			t.Errorf("with %v: status %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
		if tc.want == http.StatusUnauthorized && !strings.Contains(resp.Header.Get("WWW-Authenticate"), "invalid_token") {
			t.Errorf("401 without a WWW-Authenticate invalid_token challenge")
		}
	}
	if reg.SpanTotal() != 2 {
		t.Errorf("SpanTotal = %d, want 2: only the authorized request is stored", reg.SpanTotal())
	}
}

func TestRegistryCloseDuringLatency(t *testing.T) {
	before := runtime.NumGoroutine()
	reg, err := agentidtest.StartRegistry()
	if err != nil {
		t.Fatal(err)
	}
	reg.SetLatency(time.Minute)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, reg.TracesURL(), bytes.NewReader(protoBody(t)))
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a request waiting for latency, want it prompt", d)
	}
	if err := <-done; err == nil {
		t.Error("the request waiting at Close got an answer, want none")
	}
	if reg.SpanTotal() != 0 {
		t.Error("a request cut by Close was stored")
	}
	_ = reg.Close()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after Close, %d before", n, before)
	}
}

func TestRegistryOptions(t *testing.T) {
	if _, err := agentidtest.StartRegistry(agentidtest.WithRegistryAddress("10.0.0.1:0")); err == nil {
		t.Error("StartRegistry on a non-loopback address succeeded")
	}
	if _, err := agentidtest.StartRegistry(agentidtest.WithRegistryBodyLimit(0)); err == nil {
		t.Error("StartRegistry with a zero body limit succeeded")
	}
}
