package agentid

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/telemetry"
)

// scopeName is the instrumentation scope of this package's spans.
const scopeName = telemetry.ScopeName + "/agentid"

// WithTracerProvider sets the tracer provider of the middleware's spans:
// one "verify_token" span per request, child of the request's span, that
// records who called (agent id, kind, tenant, blueprint, delegation
// depth) or which check refused the token — never the token. A nil
// provider is ignored. The default is the global provider; this package
// never installs one.
func WithTracerProvider(tp trace.TracerProvider) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) {
		if tp != nil {
			c.tp = tp
		}
	})
}

func (c *middlewareConfig) tracer() trace.Tracer {
	tp := c.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(scopeName, trace.WithInstrumentationVersion(telemetry.Version))
}

var spanKindInternal = trace.WithSpanKind(trace.SpanKindInternal)

// traceVerify records the verification of a request's token.
func traceVerify(ctx context.Context, tracer trace.Tracer, p *Principal, err error) {
	_, span := tracer.Start(ctx, telemetry.OpVerifyToken, spanKindInternal)
	defer span.End()
	if !span.IsRecording() {
		return
	}
	if err != nil {
		errType := "error"
		var ve *VerifyError
		switch {
		case errors.As(err, &ve):
			errType = ve.Check.String()
		case errors.Is(err, ErrClosed):
			errType = "closed"
		}
		span.SetAttributes(attribute.String(telemetry.GenAIOperationName, telemetry.OpVerifyToken), attribute.String(telemetry.ErrorType, errType))
		span.SetStatus(codes.Error, "")
		return
	}
	attrs := []attribute.KeyValue{
		attribute.String(telemetry.GenAIOperationName, telemetry.OpVerifyToken),
		attribute.String(telemetry.GenAIAgentID, p.AgentID),
		attribute.String(telemetry.AgentKind, p.Kind.String()),
		attribute.Int(telemetry.DelegationDepth, p.DelegationDepth()),
	}
	if p.TenantID != "" {
		attrs = append(attrs, attribute.String(telemetry.TenantID, p.TenantID))
	}
	if p.BlueprintID != "" {
		attrs = append(attrs, attribute.String(telemetry.BlueprintID, p.BlueprintID))
	}
	span.SetAttributes(attrs...)
}
