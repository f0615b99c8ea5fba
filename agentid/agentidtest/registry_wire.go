package agentidtest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// OTLP/HTTP content types.
const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// errTooLarge reports a body over the limit.
var errTooLarge = errors.New("agentidtest: body too large")

// handleTraces receives one export request for path's tenant and agent
// (empty on the plain route).
func (r *Registry) handleTraces(w http.ResponseWriter, req *http.Request, gen uint64, tenant, agent string) {
	if !r.enter() {
		panic(http.ErrAbortHandler)
	}
	defer r.handlers.Done()

	rec := &ReceivedRequest{
		Time:            time.Now(),
		Path:            req.URL.RequestURI(),
		ContentType:     req.Header.Get("Content-Type"),
		ContentEncoding: req.Header.Get("Content-Encoding"),
		Authorization:   req.Header.Get("Authorization") != "",
	}
	raw, err := readBody(req, r.cfg.bodyLimit)
	if err != nil {
		panic(http.ErrAbortHandler) // the client went away
	}
	rec.Bytes = len(raw)
	r.logRequest(rec)

	if !r.wait(req) {
		panic(http.ErrAbortHandler)
	}
	if verify := r.verifier(); verify != nil {
		token, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || verify(token) != nil {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			r.finish(rec, w, req, http.StatusUnauthorized, "the bearer token is missing or invalid")
			return
		}
	}
	f := r.nextFault()
	switch {
	case f == nil, f.kind == faultPartial:
		r.accept(rec, w, req, gen, raw, tenant, agent, f)
	case f.kind == faultThrottle:
		secs := int64((f.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 0), 10))
		r.finish(rec, w, req, http.StatusTooManyRequests, "throttled")
	default:
		r.finish(rec, w, req, f.status, "injected failure")
	}
}

// readBody reads at most limit+1 bytes of the body, in one allocation
// when the length is known.
func readBody(req *http.Request, limit int64) ([]byte, error) {
	if n := req.ContentLength; n >= 0 && n <= limit {
		buf := make([]byte, n)
		if _, err := io.ReadFull(req.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(io.LimitReader(req.Body, limit+1))
}

// accept decodes, stores and answers a request, with the partial success
// fault f if not nil.
func (r *Registry) accept(rec *ReceivedRequest, w http.ResponseWriter, req *http.Request, gen uint64, raw []byte, tenant, agent string, f *registryFault) {
	asJSON, ok := isJSON(rec.ContentType)
	if !ok {
		r.finish(rec, w, req, http.StatusUnsupportedMediaType, "want application/x-protobuf or application/json")
		return
	}
	var rejected int64
	var message string
	if f != nil {
		rejected, message = f.rejected, f.message
	}
	batch, ids, err := decodeBatch(raw, asJSON, rec.ContentEncoding, r.cfg.bodyLimit, rejected)
	switch {
	case errors.Is(err, errTooLarge):
		r.finish(rec, w, req, http.StatusRequestEntityTooLarge, "body too large")
		return
	case err != nil:
		r.finish(rec, w, req, http.StatusBadRequest, "undecodable body")
		return
	}
	batch.path, batch.tenant, batch.agent = req.URL.RequestURI(), tenant, agent
	r.gate.RLock()
	defer r.gate.RUnlock()
	if r.gen.Load() != gen || req.Context().Err() != nil {
		panic(http.ErrAbortHandler) // went down meanwhile: store nothing
	}
	r.storeBatch(rec, batch, ids)
	var resp []byte
	if rejected > 0 || message != "" {
		resp = partialSuccessBody(asJSON, rejected, message)
	} else if asJSON {
		resp = []byte("{}")
	}
	r.setStatus(rec, http.StatusOK)
	h := w.Header()
	h.Set("Content-Type", contentTypeOf(asJSON))
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
}

// finish answers an error with an OTLP Status body in the request's
// encoding (JSON when it cannot be told).
func (r *Registry) finish(rec *ReceivedRequest, w http.ResponseWriter, req *http.Request, status int, message string) {
	r.setStatus(rec, status)
	r.answerError(w, req, status, message)
}

// answerError writes a google.rpc.Status body: code (1) and message (2).
func (r *Registry) answerError(w http.ResponseWriter, req *http.Request, status int, message string) {
	asJSON, ok := isJSON(req.Header.Get("Content-Type"))
	var body []byte
	if ok && !asJSON {
		body = protowire.AppendTag(body, 1, protowire.VarintType)
		body = protowire.AppendVarint(body, uint64(status))
		body = protowire.AppendTag(body, 2, protowire.BytesType)
		body = protowire.AppendString(body, message)
	} else {
		asJSON = true
		body, _ = json.Marshal(map[string]any{"code": status, "message": message})
	}
	w.Header().Set("Content-Type", contentTypeOf(asJSON))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func contentTypeOf(asJSON bool) string {
	if asJSON {
		return otlpJSON
	}
	return otlpProtobuf
}

// isJSON tells the encoding of a content type, and false for ok when it
// is neither OTLP encoding.
func isJSON(contentType string) (asJSON, ok bool) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false, false
	}
	switch mt {
	case otlpJSON:
		return true, true
	case otlpProtobuf, "application/protobuf":
		return false, true
	}
	return false, false
}

// partialSuccessBody encodes an ExportTraceServiceResponse with a
// partial_success (field 1): rejected_spans (1) and error_message (2).
func partialSuccessBody(asJSON bool, rejected int64, message string) []byte {
	if asJSON {
		b, _ := json.Marshal(map[string]any{"partialSuccess": map[string]any{
			"rejectedSpans": strconv.FormatInt(rejected, 10), "errorMessage": message,
		}})
		return b
	}
	var inner []byte
	if rejected != 0 {
		inner = protowire.AppendTag(inner, 1, protowire.VarintType)
		inner = protowire.AppendVarint(inner, uint64(rejected))
	}
	if message != "" {
		inner = protowire.AppendTag(inner, 2, protowire.BytesType)
		inner = protowire.AppendString(inner, message)
	}
	out := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(out, inner)
}

// decodeBatch decodes an ExportTraceServiceRequest body (TracesData has
// the same fields and numbers, so it decodes either encoding of it),
// keeps all its spans but the last rejected ones, and returns the span
// ids kept. A protobuf body is checked in full but decoded only when
// the spans are asked for.
func decodeBatch(raw []byte, asJSON bool, contentEncoding string, limit, rejected int64) (storedBatch, [][]byte, error) {
	raw, err := decompress(raw, contentEncoding, limit)
	if err != nil {
		return storedBatch{}, nil, err
	}
	ids := make([][]byte, 0, len(raw)/128)
	if !asJSON && rejected <= 0 {
		err := checkTraces(raw, func(id []byte) { ids = append(ids, id) })
		return storedBatch{raw: raw}, ids, err
	}
	td := &tracepb.TracesData{}
	if asJSON {
		fixed, err := hexIDsToBase64(raw)
		if err != nil {
			return storedBatch{}, nil, err
		}
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, td)
		if err != nil {
			return storedBatch{}, nil, err
		}
	} else if err := proto.Unmarshal(raw, td); err != nil {
		return storedBatch{}, nil, err
	}
	keep := 0
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			keep += len(ss.Spans)
		}
	}
	keep -= int(min(max(rejected, 0), int64(keep)))
	for _, rs := range td.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			room := max(keep-len(ids), 0)
			if len(ss.Spans) > room {
				ss.Spans = ss.Spans[:room]
			}
			for _, sp := range ss.Spans {
				ids = append(ids, sp.SpanId)
			}
		}
	}
	return storedBatch{td: td}, ids, nil
}

// decompress undoes the Content-Encoding of a body, within limit.
func decompress(raw []byte, contentEncoding string, limit int64) ([]byte, error) {
	if int64(len(raw)) > limit {
		return nil, errTooLarge
	}
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return raw, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		out, err := io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return nil, err
		}
		if int64(len(out)) > limit {
			return nil, errTooLarge
		}
		return out, nil
	}
	return nil, fmt.Errorf("agentidtest: unsupported Content-Encoding %q", contentEncoding)
}

// idKeys are the OTLP/JSON fields that hold ids in hex, where protojson
// expects base64.
var idKeys = map[string]bool{
	"traceId": true, "spanId": true, "parentSpanId": true,
	"trace_id": true, "span_id": true, "parent_span_id": true,
}

// hexIDsToBase64 rewrites the hex ids of an OTLP/JSON document as base64
// for protojson. Attribute keys cannot collide with the field names: they
// are values of "key" fields.
func hexIDsToBase64(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				if s, ok := e.(string); ok && idKeys[k] {
					b, err := hex.DecodeString(s)
					if err != nil {
						return fmt.Errorf("agentidtest: %s is not hex", k)
					}
					t[k] = base64.StdEncoding.EncodeToString(b)
					continue
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range t {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(doc); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}
