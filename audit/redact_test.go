package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/audit"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestRedactionScan plants secrets everywhere a span can carry them and
// scans every body the exporter sent, in both encodings.
func TestRedactionScan(t *testing.T) {
	_, src := tokenSource(t)
	tok, err := src.Token(context.Background(), registryScope)
	if err != nil {
		t.Fatal(err)
	}
	jwt := tok.AccessToken() // a real signed JWT
	secret := func(i int) string { return fmt.Sprintf("PLANTED-SECRET-%02d-x9q", i) }

	rec := &recorder{}
	res := resource.NewSchemaless(attribute.String("service.name", "orders"), attribute.String("service.token", secret(1)))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithResource(res))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := tp.Tracer(telemetry.ScopeName)
	_, span := tr.Start(context.Background(), "execute_tool call with "+jwt,
		trace.WithLinks(trace.Link{SpanContext: linkedContext, Attributes: []attribute.KeyValue{attribute.String("auth.token", secret(2))}}),
		trace.WithAttributes(
			attribute.StringSlice("http.request.header.authorization", []string{"Bearer " + secret(3)}),
			attribute.String("oauth.client_secret", secret(4)),
			attribute.String("db.PASSWORD", secret(5)),
			attribute.String("http.response.header.set-cookie", "session="+secret(6)),
			attribute.String("x.api_key", secret(7)),
			attribute.String("customer.ssn", secret(8)),
			attribute.Int("customer.pin", 123456789),
			attribute.String("note", "called the API with "+jwt+" as credential"),
			attribute.String("log.line", "GET /orders Authorization: bearer "+secret(9)+" done"),
			attribute.StringSlice("args", []string{"--token=x", jwt}),
			attribute.Map("request", attribute.String("Authorization", "Basic "+secret(10)), attribute.String("body", "ok "+jwt)),
			attribute.ByteSlice("session_token", []byte(secret(11))),
			attribute.String(telemetry.TokenFlow, "client_credentials"),
			attribute.Int("gen_ai.usage.input_tokens", 42),
		))
	span.AddEvent("retry "+jwt, trace.WithAttributes(attribute.String("password", secret(12))))
	span.SetStatus(codes.Error, "token endpoint refused Bearer "+secret(13))
	span.End()
	spans := rec.take()

	for _, enc := range []audit.Encoding{audit.EncodingProtobuf, audit.EncodingJSON} {
		t.Run(enc.String(), func(t *testing.T) {
			reg := agentidtest.NewRegistry(t)
			capture := &bodyRecorder{}
			exp := newExporter(t, reg, audit.WithEncoding(enc), audit.WithHTTPClient(capture.client()),
				audit.WithTokenSource(src, registryScope), audit.WithRedactedAttributes("customer.ssn", "customer.pin"))
			if err := exp.ExportSpans(context.Background(), spans); err != nil {
				t.Fatalf("ExportSpans: %v", err)
			}
			bodies, headers, _ := capture.snapshot()
			if len(bodies) == 0 {
				t.Fatal("no body sent")
			}
			payload := strings.Split(jwt, ".")[1]
			for i, b := range bodies {
				for n := 1; n <= 13; n++ {
					if bytes.Contains(b, []byte(secret(n))) {
						t.Errorf("body %d contains planted secret %d", i, n)
					}
				}
				if bytes.Contains(b, []byte(payload)) {
					t.Errorf("body %d contains the JWT", i)
				}
				if !bytes.Contains(b, []byte(audit.Redacted)) {
					t.Errorf("body %d has no %s marker", i, audit.Redacted)
				}
			}
			if got := headers[0].Get("Authorization"); got != "Bearer "+jwt {
				t.Errorf("Authorization header not the source's token")
			}
			got := reg.Spans()
			if len(got) != 1 {
				t.Fatalf("%d spans received, want 1", len(got))
			}
			a := got[0].Attributes
			for k, want := range map[string]any{
				"note":                              "called the API with [REDACTED] as credential",
				"log.line":                          "GET /orders Authorization: bearer [REDACTED] done",
				"customer.ssn":                      audit.Redacted,
				"customer.pin":                      audit.Redacted,
				"http.request.header.authorization": audit.Redacted,
				telemetry.TokenFlow:                 "client_credentials",
				"gen_ai.usage.input_tokens":         int64(42),
			} {
				if fmt.Sprint(a[k]) != fmt.Sprint(want) {
					t.Errorf("attribute %s = %v, want %v", k, a[k], want)
				}
			}
			if got[0].Name != "execute_tool call with [REDACTED]" || got[0].StatusMessage != "token endpoint refused Bearer [REDACTED]" {
				t.Errorf("name %q, status %q: want the tokens redacted", got[0].Name, got[0].StatusMessage)
			}
		})
	}
}
