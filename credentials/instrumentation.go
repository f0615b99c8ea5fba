package credentials

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/telemetry"
)

// scopeName is the instrumentation scope of this package's spans.
const scopeName = telemetry.ScopeName + "/credentials"

// tracerFor returns the tracer of cfg's provider, else of the global one
// (resolved when spans start, so a provider installed later is used).
func tracerFor(cfg *config) trace.Tracer {
	tp := cfg.tracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return tp.Tracer(scopeName, trace.WithInstrumentationVersion(telemetry.Version))
}

// instrument names what p fetches, for its spans.
func (p *partition) instrument(flow, clientID string) *partition {
	p.flow, p.clientID = flow, clientID
	return p
}

// startSpan starts the span of a token acquisition: a child of the span
// of the caller that started the flight (parent), or a root for a
// background refresh. It records what was asked, never a token.
func (p *partition) startSpan(ctx context.Context, parent trace.SpanContext, k *cacheKey, background bool) (context.Context, trace.Span) {
	if parent.IsValid() {
		ctx = trace.ContextWithSpanContext(ctx, parent)
	}
	attrs := []attribute.KeyValue{
		attribute.String(telemetry.GenAIOperationName, telemetry.OpAcquireToken),
		attribute.String(telemetry.TokenFlow, p.flow),
		attribute.String(telemetry.GenAIAgentID, p.clientID),
		attribute.StringSlice(telemetry.TokenScopes, k.scopes),
		attribute.Bool("passport.token.background_refresh", background),
	}
	if k.resource != "" {
		attrs = append(attrs, attribute.String(telemetry.TokenResource, k.resource))
	}
	if k.tenant != "" {
		attrs = append(attrs, attribute.String(telemetry.TenantID, k.tenant))
	}
	return p.tracer.Start(ctx, telemetry.OpAcquireToken+" "+p.flow,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// endSpan ends a token acquisition span with its outcome.
func endSpan(span trace.Span, err error) {
	if err != nil {
		var te *TokenError
		errType := "error"
		switch {
		case errors.As(err, &te) && te.Code != "":
			errType = te.Code
			span.SetAttributes(attribute.String(telemetry.TokenErrorCode, te.Code))
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			errType = "canceled"
		case errors.Is(err, ErrClosed):
			errType = "closed"
		}
		span.SetAttributes(attribute.String(telemetry.ErrorType, errType))
		// Error texts of this package hold no secret.
		span.SetStatus(codes.Error, strings.TrimPrefix(err.Error(), "credentials: "))
	}
	span.End()
}
