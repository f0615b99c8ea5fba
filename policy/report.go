package policy

import (
	"context"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/telemetry"
)

// report makes a decision known: as an event on the span in ctx (the
// decision's own span when tracing is on), when it records; to the logger (report-only denials at Info, enforced denials
// at Debug); and to the observer. None sees an argument value.
func (e *Engine) report(ctx context.Context, req *Request, d *Decision) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(telemetry.OpPolicyDecision, trace.WithAttributes(d.attributes(req)...))
	}
	if d.WouldDeny {
		level := slog.LevelDebug
		msg := "policy: denied"
		if d.Mode == ReportOnly {
			level, msg = slog.LevelInfo, "policy: report-only policies would deny"
		}
		if e.cfg.logger.Enabled(ctx, level) {
			e.cfg.logger.LogAttrs(ctx, level, msg,
				slog.String(telemetry.PolicyAction, string(req.Action)),
				slog.String(telemetry.PolicyResource, req.Resource.String()),
				slog.String("agent_id", req.Subject.Agent.ID),
				slog.Any("decision", *d))
		}
	}
	if e.cfg.observer != nil {
		e.cfg.observer(ctx, *req, *d)
	}
}

// LogValue implements [slog.LogValuer]: the decision's attributes, named
// as in traces.
func (d Decision) LogValue() slog.Value {
	outcome := "deny"
	if d.Allow {
		outcome = "allow"
	}
	attrs := []slog.Attr{
		slog.String(telemetry.PolicyDecision, outcome),
		slog.Bool(telemetry.PolicyWouldDeny, d.WouldDeny),
		slog.String(telemetry.PolicyMode, d.Mode.String()),
		slog.String(telemetry.PolicyIDs, strings.Join(d.Reasons, ",")),
	}
	if len(d.Errors) > 0 {
		ids := make([]string, len(d.Errors))
		for i, er := range d.Errors {
			ids[i] = er.PolicyID
		}
		attrs = append(attrs, slog.String(telemetry.PolicyErrors, strings.Join(ids, ",")))
	}
	return slog.GroupValue(attrs...)
}

// attributes are the span attributes of d, for req.
func (d *Decision) attributes(req *Request) []attribute.KeyValue {
	outcome := "deny"
	if d.Allow {
		outcome = "allow"
	}
	kv := []attribute.KeyValue{
		attribute.String(telemetry.GenAIOperationName, telemetry.OpPolicyDecision),
		attribute.String(telemetry.PolicyDecision, outcome),
		attribute.Bool(telemetry.PolicyWouldDeny, d.WouldDeny),
		attribute.String(telemetry.PolicyMode, d.Mode.String()),
		attribute.StringSlice(telemetry.PolicyIDs, d.Reasons),
		attribute.String(telemetry.PolicyAction, string(req.Action)),
		attribute.String(telemetry.PolicyResource, req.Resource.String()),
	}
	if len(d.Errors) > 0 {
		ids := make([]string, len(d.Errors))
		for i, er := range d.Errors {
			ids[i] = er.PolicyID
		}
		kv = append(kv, attribute.StringSlice(telemetry.PolicyErrors, ids))
	}
	return kv
}
