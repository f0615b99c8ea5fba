package credentials_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func TestTokenAcquisitionSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	a, c := newSecretClient(t, nil, credentials.WithTracerProvider(tp))

	ctx, caller := tp.Tracer("test").Start(context.Background(), "caller")
	tok, err := c.Token(ctx, ordersRead)
	must(t, err)
	if _, err := c.Token(ctx, ordersRead); err != nil { // a hit: no span
		t.Fatal(err)
	}
	a.FailNext(1, 400, agentidtest.OAuthError{Code: "invalid_scope"})
	_, _ = c.Token(ctx, credentials.Request{Scopes: []string{"api://other/.default"}})
	caller.End()

	var got []map[string]any
	for _, s := range rec.Ended() {
		if s.Name() == "caller" {
			continue
		}
		m := map[string]any{"name": s.Name(), "parent": s.Parent().SpanID() == caller.SpanContext().SpanID(), "status": s.Status().Code.String()}
		for _, kv := range s.Attributes() {
			m[string(kv.Key)] = kv.Value.String()
			if strings.Contains(kv.Value.String(), tok.AccessToken()) || strings.Contains(kv.Value.String(), testSecret) {
				t.Errorf("span attribute %s holds a secret", kv.Key)
			}
		}
		got = append(got, m)
	}
	want := []map[string]any{
		{"name": "acquire_token client_credentials", "parent": true, "status": "Unset",
			"gen_ai.operation.name": "acquire_token", "passport.token.flow": "client_credentials", "gen_ai.agent.id": testClientID,
			"passport.token.scopes": `["api://orders/.default"]`, "passport.token.background_refresh": "false"},
		{"name": "acquire_token client_credentials", "parent": true, "status": "Error",
			"gen_ai.operation.name": "acquire_token", "passport.token.flow": "client_credentials", "gen_ai.agent.id": testClientID,
			"passport.token.scopes": `["api://other/.default"]`, "passport.token.background_refresh": "false",
			"error.type": "invalid_scope", "passport.token.error_code": "invalid_scope"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token spans mismatch (-want +got):\n%s", diff)
	}
}
