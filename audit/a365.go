package audit

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/internal/oauth"
	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// ErrAgentMismatch is matched (errors.Is) by the error of an export in
// Agent 365 mode whose spans name an agent (gen_ai.agent.id) other than
// the app id of the exporter's token: the registry would attribute them
// to the wrong agent, so they are not sent.
var ErrAgentMismatch = errors.New("audit: the spans' agent id is not the token's app id")

// plainPath is where plain mode posts every body (OTLP/HTTP).
const plainPath = "/v1/traces"

// a365Operations are the operations (gen_ai.operation.name) the Agent 365
// observability service accepts.
var a365Operations = map[string]bool{
	telemetry.OpInvokeAgent:    true,
	telemetry.OpExecuteTool:    true,
	telemetry.OpChat:           true,
	telemetry.OpOutputMessages: true,
	telemetry.OpApplyGuardrail: true,
}

// a365Path returns the Agent 365 ingestion path and query of a partition.
func a365Path(tenant, agent string) string {
	return "/observability/tenants/" + url.PathEscape(tenant) + "/otlp/agents/" + url.PathEscape(agent) + "/traces?api-version=1"
}

// a365Route classifies a span in Agent 365 mode: its tenant and agent,
// or ok false when it is not sent (another operation, or no tenant or
// agent id). The ids are read from the span's attributes, else from its
// resource's.
func a365Route(s sdktrace.ReadOnlySpan) (tenant, agent string, ok bool) {
	var op string
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case telemetry.GenAIOperationName:
			op = stringValue(kv.Value)
		case telemetry.TenantID:
			tenant = stringValue(kv.Value)
		case telemetry.GenAIAgentID:
			agent = stringValue(kv.Value)
		}
	}
	if !a365Operations[op] {
		return "", "", false
	}
	if (tenant == "" || agent == "") && s.Resource() != nil {
		if tenant == "" {
			if v, found := s.Resource().Set().Value(telemetry.TenantID); found {
				tenant = stringValue(v)
			}
		}
		if agent == "" {
			if v, found := s.Resource().Set().Value(telemetry.GenAIAgentID); found {
				agent = stringValue(v)
			}
		}
	}
	return tenant, agent, tenant != "" && agent != ""
}

func stringValue(v attribute.Value) string {
	if v.Type() != attribute.STRING {
		return ""
	}
	return v.AsString()
}

// checkAgent verifies, in Agent 365 mode, that agent is the app id (azp,
// else appid) of token, read without verifying it: the registry verifies
// it, this only refuses to send what the registry would misattribute.
func checkAgent(token, agent string) error {
	p, err := oauth.Peek(token)
	if err != nil {
		return fmt.Errorf("%w: the token's claims cannot be read (%w)", ErrAgentMismatch, err)
	}
	if p.AppID != agent {
		return fmt.Errorf("%w: spans of agent %q, token of app %q", ErrAgentMismatch, agent, p.AppID)
	}
	return nil
}

// tokenFor returns the token of one request, or nil without a token
// source.
func (e *Exporter) tokenFor(ctx context.Context) (*credentials.Token, error) {
	if e.cfg.src == nil {
		return nil, nil
	}
	tok, err := e.cfg.src.Token(ctx, e.cfg.req)
	if err != nil {
		return nil, &tokenError{err: err}
	}
	return tok, nil
}

// tokenError is a failure to get the exporter's own token. It is not
// retried by the exporter (the source retries), but the body is spooled.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return "audit: getting the exporter's token: " + e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// Retryable reports false: the source has its own retry policy.
func (e *tokenError) Retryable() bool { return false }
