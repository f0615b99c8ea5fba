package agentidtest

import (
	"encoding/hex"
	"maps"
	"time"

	"google.golang.org/protobuf/proto"

	"go.opentelemetry.io/otel/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// ReceivedRequest is what the [Registry] saw of one export request, as
// returned by [Registry.Requests]. It never holds a token.
type ReceivedRequest struct {
	// Time is when the request arrived.
	Time time.Time
	// Path is the request's path and query as sent (escaped), such as
	// "/v1/traces".
	Path string
	// ContentType and ContentEncoding are the request's headers.
	ContentType     string
	ContentEncoding string
	// Authorization reports whether the request had an Authorization
	// header. Its value is never stored.
	Authorization bool
	// Bytes is the length of the body as received.
	Bytes int
	// Spans is the number of spans stored from the request.
	Spans int
	// Status is the HTTP status answered, or 0 while the request is being
	// answered or when it was abandoned.
	Status int
}

// ReceivedSpan is a span the [Registry] accepted, as returned by
// [Registry.Spans]. Ids are lowercase hex; attribute values are string,
// bool, int64, float64, []byte, []any or map[string]any.
type ReceivedSpan struct {
	TraceID, SpanID, ParentSpanID string
	Name                          string
	Kind                          trace.SpanKind
	StartTime, EndTime            time.Time
	// StatusCode is "Unset", "Ok" or "Error"; StatusMessage its message.
	StatusCode    string
	StatusMessage string
	Attributes    map[string]any
	Events        []ReceivedEvent
	Links         []ReceivedLink
	// Dropped counts, as the exporter reported them.
	DroppedAttributes, DroppedEvents, DroppedLinks int
	// Resource holds the attributes of the span's resource.
	Resource map[string]any
	// Scope and ScopeVersion name the instrumentation scope.
	Scope, ScopeVersion string
	// Tenant and Agent are the ids in the Agent 365 route's path, empty
	// on the plain route.
	Tenant, Agent string
	// Path is the request's path and query, as in [ReceivedRequest].
	Path string
}

// ReceivedEvent is an event of a [ReceivedSpan].
type ReceivedEvent struct {
	Name       string
	Time       time.Time
	Attributes map[string]any
}

// ReceivedLink is a link of a [ReceivedSpan].
type ReceivedLink struct {
	TraceID, SpanID string
	Attributes      map[string]any
}

// registryStore holds what the Registry accepted. It is guarded by
// Registry.mu.
type registryStore struct {
	requests []*ReceivedRequest
	batches  []storedBatch
	counts   map[spanKey]int // span id → times stored
	total    int
}

// spanKey is a span id as a map key; ids of another length than 8 bytes
// are cut or padded (such spans are malformed anyway).
type spanKey [8]byte

// storedBatch is one accepted request: its decoded spans, or its checked
// protobuf body, decoded only when Spans asks.
type storedBatch struct {
	td                  *tracepb.TracesData
	raw                 []byte
	path, tenant, agent string
}

// traces returns the decoded spans of b.
func (b storedBatch) traces() *tracepb.TracesData {
	if b.td != nil {
		return b.td
	}
	td := &tracepb.TracesData{}
	_ = proto.Unmarshal(b.raw, td) // checked by checkTraces on arrival
	return td
}

// logRequest records rec; its Spans and Status are set later.
func (r *Registry) logRequest(rec *ReceivedRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.store.requests = append(r.store.requests, rec)
}

func (r *Registry) setStatus(rec *ReceivedRequest, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec.Status = status
}

// storeBatch keeps b, whose spans have the ids ids.
func (r *Registry) storeBatch(rec *ReceivedRequest, b storedBatch, ids [][]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.store.counts == nil {
		r.store.counts = map[spanKey]int{}
	}
	for _, id := range ids {
		var k spanKey
		copy(k[:], id)
		r.store.counts[k]++
	}
	r.store.total += len(ids)
	r.store.batches = append(r.store.batches, b)
	rec.Spans = len(ids)
}

// Requests returns copies of every export request received since start
// or the last [Registry.Reset], in order of arrival, including those
// answered with an error.
func (r *Registry) Requests() []ReceivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ReceivedRequest, len(r.store.requests))
	for i, rec := range r.store.requests {
		out[i] = *rec
	}
	return out
}

// Spans returns every span accepted since start or the last
// [Registry.Reset], in order of arrival. A span sent twice appears twice.
func (r *Registry) Spans() []ReceivedSpan {
	r.mu.Lock()
	batches := append([]storedBatch(nil), r.store.batches...)
	r.mu.Unlock()
	var out []ReceivedSpan
	for _, b := range batches {
		for _, rs := range b.traces().ResourceSpans {
			res := anyMap(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					rsp := receivedSpan(s)
					rsp.Resource = maps.Clone(res)
					rsp.Scope, rsp.ScopeVersion = ss.GetScope().GetName(), ss.GetScope().GetVersion()
					rsp.Tenant, rsp.Agent, rsp.Path = b.tenant, b.agent, b.path
					out = append(out, rsp)
				}
			}
		}
	}
	return out
}

// SpanCount returns how many times the span with id spanID (lowercase
// hex) was accepted: 1 when it arrived exactly once.
func (r *Registry) SpanCount(spanID string) int {
	var k spanKey
	if b, err := hex.DecodeString(spanID); err != nil || len(b) != len(k) {
		return 0
	} else {
		copy(k[:], b)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.store.counts[k]
}

// SpanCounts returns, for every span id (lowercase hex) accepted, how
// many times it was.
func (r *Registry) SpanCounts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.store.counts))
	for k, n := range r.store.counts {
		out[hex.EncodeToString(k[:])] = n
	}
	return out
}

// SpanTotal returns the number of spans accepted, duplicates included.
func (r *Registry) SpanTotal() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.store.total
}

// Reset forgets every request and span received, pending faults and the
// latency. The up or down state and [Registry.RequireBearer] are kept.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.store = registryStore{}
	r.faults = registryFaults{verify: r.faults.verify}
}

func receivedSpan(s *tracepb.Span) ReceivedSpan {
	out := ReceivedSpan{
		TraceID:           hex.EncodeToString(s.TraceId),
		SpanID:            hex.EncodeToString(s.SpanId),
		ParentSpanID:      hex.EncodeToString(s.ParentSpanId),
		Name:              s.Name,
		Kind:              trace.SpanKind(s.Kind),
		StartTime:         fromNanos(s.StartTimeUnixNano),
		EndTime:           fromNanos(s.EndTimeUnixNano),
		StatusCode:        "Unset",
		Attributes:        anyMap(s.Attributes),
		DroppedAttributes: int(s.DroppedAttributesCount),
		DroppedEvents:     int(s.DroppedEventsCount),
		DroppedLinks:      int(s.DroppedLinksCount),
	}
	switch s.GetStatus().GetCode() {
	case tracepb.Status_STATUS_CODE_OK:
		out.StatusCode = "Ok"
	case tracepb.Status_STATUS_CODE_ERROR:
		out.StatusCode = "Error"
	}
	out.StatusMessage = s.GetStatus().GetMessage()
	for _, ev := range s.Events {
		out.Events = append(out.Events, ReceivedEvent{Name: ev.Name, Time: fromNanos(ev.TimeUnixNano), Attributes: anyMap(ev.Attributes)})
	}
	for _, l := range s.Links {
		out.Links = append(out.Links, ReceivedLink{TraceID: hex.EncodeToString(l.TraceId), SpanID: hex.EncodeToString(l.SpanId), Attributes: anyMap(l.Attributes)})
	}
	return out
}

func fromNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

// anyMap converts OTLP attributes to Go values; nil for none.
func anyMap(kvs []*commonpb.KeyValue) map[string]any {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = anyValue(kv.Value)
	}
	return m
}

func anyValue(v *commonpb.AnyValue) any {
	switch t := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return t.StringValue
	case *commonpb.AnyValue_BoolValue:
		return t.BoolValue
	case *commonpb.AnyValue_IntValue:
		return t.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return t.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return t.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, len(t.ArrayValue.GetValues()))
		for i, e := range t.ArrayValue.GetValues() {
			out[i] = anyValue(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		m := anyMap(t.KvlistValue.GetValues())
		if m == nil {
			m = map[string]any{}
		}
		return m
	}
	return nil
}
