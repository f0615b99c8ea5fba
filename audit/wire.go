package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/internal/retry"
	"github.com/agentpassport/passport/internal/telemetry"
	"google.golang.org/protobuf/encoding/protowire"
)

// maxResponseBytes bounds the part of an answer that is read.
const maxResponseBytes = 64 << 10

var userAgent = "passport-audit/" + telemetry.Version

// send posts b under the retry policy and returns the partial success of
// the answer.
func (e *Exporter) send(ctx context.Context, b *body) (rejected int64, msg string, err error) {
	err = retry.Do(ctx, e.cfg.retry, func(ctx context.Context) error {
		r, m, err := e.post(ctx, b)
		if err == nil {
			rejected, msg = r, m
		}
		return err
	}, func(err error, wait time.Duration) {
		e.cfg.logger.Debug("audit: retrying export", "path", b.path, "spans", b.spans, "wait", wait, "error", err)
	})
	return rejected, msg, err
}

// post sends b once: it gets a token, checks the agent id in Agent 365
// mode, and posts. It returns the partial success of a 2xx answer.
func (e *Exporter) post(ctx context.Context, b *body) (int64, string, error) {
	tok, err := e.tokenFor(ctx)
	if err != nil {
		return 0, "", err
	}
	if e.cfg.agent365 {
		raw := ""
		if tok != nil {
			raw = tok.AccessToken()
		}
		if err := checkAgent(raw, b.agent); err != nil {
			return 0, "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.base+b.path, bytes.NewReader(b.data))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", b.enc.contentType())
	req.Header.Set("User-Agent", userAgent)
	if tok != nil {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken())
	}
	resp, err := e.cfg.hc.Do(req)
	if err != nil {
		return 0, "", &transportError{err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBytes)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if resp.StatusCode == http.StatusUnauthorized && tok != nil {
			if inv, ok := e.cfg.src.(credentials.Invalidator); ok {
				inv.Invalidate(e.cfg.req, tok)
			}
		}
		return 0, "", &StatusError{StatusCode: resp.StatusCode, RetryAfterHint: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if err != nil {
		// The answer was cut short; the endpoint has the spans.
		return 0, "", nil
	}
	rejected, msg := parsePartialSuccess(resp.Header.Get("Content-Type"), b.enc, data)
	return rejected, msg, nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
// It returns 0 when absent or invalid, and at most one hour.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), 3600)) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}

// parsePartialSuccess reads the partial_success of an OTLP
// ExportTraceServiceResponse, in the encoding its Content-Type names
// (else the request's). A body it cannot read is no partial success.
func parsePartialSuccess(contentType string, reqEnc Encoding, data []byte) (int64, string) {
	if len(bytes.TrimSpace(data)) == 0 {
		return 0, ""
	}
	enc := reqEnc
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		switch mt {
		case contentTypeJSON:
			enc = EncodingJSON
		case contentTypeProtobuf, "application/protobuf":
			enc = EncodingProtobuf
		}
	}
	if enc == EncodingJSON {
		return partialSuccessJSON(data)
	}
	return partialSuccessProto(data)
}

// partialSuccessProto decodes field 1 (ExportTracePartialSuccess) of an
// ExportTraceServiceResponse: rejected_spans (1, int64) and error_message
// (2, string).
func partialSuccessProto(data []byte) (int64, string) {
	var rejected int64
	var msg string
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return rejected, msg
		}
		data = data[n:]
		if num == 1 && typ == protowire.BytesType {
			inner, m := protowire.ConsumeBytes(data)
			if m < 0 {
				return rejected, msg
			}
			data = data[m:]
			for len(inner) > 0 {
				f, t, k := protowire.ConsumeTag(inner)
				if k < 0 {
					break
				}
				inner = inner[k:]
				switch {
				case f == 1 && t == protowire.VarintType:
					v, k := protowire.ConsumeVarint(inner)
					if k < 0 {
						return rejected, msg
					}
					rejected, inner = int64(v), inner[k:]
				case f == 2 && t == protowire.BytesType:
					v, k := protowire.ConsumeBytes(inner)
					if k < 0 {
						return rejected, msg
					}
					msg, inner = string(v), inner[k:]
				default:
					k := protowire.ConsumeFieldValue(f, t, inner)
					if k < 0 {
						return rejected, msg
					}
					inner = inner[k:]
				}
			}
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, data)
		if m < 0 {
			return rejected, msg
		}
		data = data[m:]
	}
	return rejected, msg
}

// partialSuccessJSON decodes the OTLP/JSON response; field names may be
// lowerCamelCase or the proto names, and int64 a number or a string.
func partialSuccessJSON(data []byte) (int64, string) {
	var resp map[string]json.RawMessage
	if json.Unmarshal(data, &resp) != nil {
		return 0, ""
	}
	raw := resp["partialSuccess"]
	if raw == nil {
		raw = resp["partial_success"]
	}
	var ps map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &ps) != nil {
		return 0, ""
	}
	var rejected int64
	if r := firstOf(ps, "rejectedSpans", "rejected_spans"); r != nil {
		var n json.Number
		if err := json.Unmarshal(bytes.Trim(r, `"`), &n); err == nil {
			rejected, _ = n.Int64()
		}
	}
	var msg string
	if m := firstOf(ps, "errorMessage", "error_message"); m != nil {
		_ = json.Unmarshal(m, &msg)
	}
	return rejected, msg
}

func firstOf(m map[string]json.RawMessage, keys ...string) json.RawMessage {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}
