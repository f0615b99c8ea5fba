package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/internal/telemetry"
)

// scopeName is the instrumentation scope of the recorder's spans.
const scopeName = telemetry.ScopeName + "/audit"

// Recorder records an agent's actions (agent invocations and tool calls)
// as OpenTelemetry spans named and attributed by the GenAI semantic
// conventions, with the agent's identity (id, name, tenant, blueprint)
// and, when the call is made for a user, who that user is (a keyed
// pseudonym by default) and through which delegation chain.
//
// Recording never blocks on I/O: spans go to the tracer provider, whose
// processor (e.g. a batch processor feeding [Exporter]) exports them in
// the background. A Recorder is safe for concurrent use and holds no
// goroutine.
type Recorder struct {
	tracer *telemetry.Tracer
	base   []attribute.KeyValue // the agent's identity, on every span
	self   agentid.Identity
	pseudo *pseudonymizer // nil with WithRawUserIDs
}

// RecorderOption configures [NewRecorder].
type RecorderOption interface{ applyRecorder(*recorderConfig) }

type recorderConfig struct {
	tp          trace.TracerProvider
	key         []byte
	raw         bool
	version     string
	description string
}

type recorderOptionFunc func(*recorderConfig)

func (f recorderOptionFunc) applyRecorder(c *recorderConfig) { f(c) }

// WithTracerProvider sets the tracer provider of the recorder's spans. A
// nil provider is ignored; a no-op provider turns recording off. The
// default is the global provider, otel.GetTracerProvider(), followed as
// it changes; until a program installs one, recording is off and costs
// nearly nothing. This package never installs a provider.
func WithTracerProvider(tp trace.TracerProvider) RecorderOption {
	return recorderOptionFunc(func(c *recorderConfig) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithPseudonymKey sets the key of the keyed hash (HMAC-SHA-256) that
// replaces user ids in spans, so that pseudonyms are stable across
// processes sharing the key. It must be at least 16 bytes. The default
// is a random key per Recorder: pseudonyms are then stable only within
// one process.
func WithPseudonymKey(key []byte) RecorderOption {
	return recorderOptionFunc(func(c *recorderConfig) { c.key = append([]byte(nil), key...) })
}

// WithRawUserIDs records user ids as they are, without pseudonyms. Use it
// only where the audit trail may hold personal data in clear.
func WithRawUserIDs() RecorderOption {
	return recorderOptionFunc(func(c *recorderConfig) { c.raw = true })
}

// WithAgentVersion sets gen_ai.agent.version. The default is none.
func WithAgentVersion(v string) RecorderOption {
	return recorderOptionFunc(func(c *recorderConfig) { c.version = v })
}

// WithAgentDescription sets gen_ai.agent.description. The default is
// none.
func WithAgentDescription(d string) RecorderOption {
	return recorderOptionFunc(func(c *recorderConfig) { c.description = d })
}

// NewRecorder returns a Recorder for the agent self.
func NewRecorder(self agentid.Identity, opts ...RecorderOption) (*Recorder, error) {
	cfg := &recorderConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyRecorder(cfg)
		}
	}
	if self.AgentID == "" {
		return nil, errors.New("audit: NewRecorder: the identity has no AgentID")
	}
	r := &Recorder{self: self, tracer: telemetry.NewTracer(cfg.tp, scopeName)}
	if !cfg.raw {
		if cfg.key == nil {
			cfg.key = make([]byte, 32)
			if _, err := rand.Read(cfg.key); err != nil {
				return nil, err
			}
		}
		if len(cfg.key) < 16 {
			return nil, errors.New("audit: WithPseudonymKey: the key has fewer than 16 bytes")
		}
		r.pseudo = &pseudonymizer{key: cfg.key, cache: make(map[string]string)}
	}
	r.base = append(r.base, attribute.String(telemetry.GenAIAgentID, self.AgentID))
	for _, kv := range []struct{ key, value string }{
		{telemetry.GenAIAgentName, self.Name},
		{telemetry.GenAIAgentVersion, cfg.version},
		{telemetry.GenAIAgentDescription, cfg.description},
		{telemetry.TenantID, self.TenantID},
		{telemetry.BlueprintID, self.BlueprintID},
	} {
		if kv.value != "" {
			r.base = append(r.base, attribute.String(kv.key, kv.value))
		}
	}
	return r, nil
}

// Call is a recorded action in progress: end it with [Call.End]. The
// zero Call (tracing off) does nothing.
type Call struct {
	span trace.Span // nil when tracing is off
}

// CallOption adds to a recorded call.
type CallOption func(*callConfig)

type callConfig struct {
	attrs []attribute.KeyValue
}

// ToolCallID sets gen_ai.tool.call.id.
func ToolCallID(id string) CallOption {
	return func(c *callConfig) { c.attrs = append(c.attrs, attribute.String(telemetry.GenAIToolCallID, id)) }
}

// ToolType sets gen_ai.tool.type ("function", "extension", "datastore").
func ToolType(t string) CallOption {
	return func(c *callConfig) { c.attrs = append(c.attrs, attribute.String(telemetry.GenAIToolType, t)) }
}

// ConversationID sets gen_ai.conversation.id.
func ConversationID(id string) CallOption {
	return func(c *callConfig) { c.attrs = append(c.attrs, attribute.String(telemetry.GenAIConversationID, id)) }
}

// Attributes adds attributes of the caller's own.
func Attributes(kv ...attribute.KeyValue) CallOption {
	return func(c *callConfig) { c.attrs = append(c.attrs, kv...) }
}

var spanKindInternal = trace.WithSpanKind(trace.SpanKindInternal)

// StartTool records the start of a tool call: a span "execute_tool
// {tool}" child of the span in ctx. Use the returned context for the
// tool's work, and end the call with its error:
//
//	ctx, call := rec.StartTool(ctx, "refund", audit.ToolCallID(id))
//	defer func() { call.End(err) }()
func (r *Recorder) StartTool(ctx context.Context, tool string, opts ...CallOption) (context.Context, Call) {
	tracer := r.tracer.Get()
	if tracer == nil {
		return ctx, Call{}
	}
	// The name is built only for a span that records.
	ctx, span := tracer.Start(ctx, telemetry.OpExecuteTool, spanKindInternal)
	if span.IsRecording() {
		span.SetName(telemetry.OpExecuteTool + " " + tool)
		r.annotate(ctx, span, telemetry.OpExecuteTool, attribute.String(telemetry.GenAIToolName, tool), opts)
	}
	return ctx, Call{span: span}
}

// StartInvocation records the start of an invocation of the agent: a span
// "invoke_agent {agent name}" child of the span in ctx.
func (r *Recorder) StartInvocation(ctx context.Context, opts ...CallOption) (context.Context, Call) {
	name := r.self.Name
	if name == "" {
		name = r.self.AgentID
	}
	tracer := r.tracer.Get()
	if tracer == nil {
		return ctx, Call{}
	}
	ctx, span := tracer.Start(ctx, telemetry.OpInvokeAgent, spanKindInternal)
	if span.IsRecording() {
		span.SetName(telemetry.OpInvokeAgent + " " + name)
		r.annotate(ctx, span, telemetry.OpInvokeAgent, attribute.KeyValue{}, opts)
	}
	return ctx, Call{span: span}
}

// annotate sets a recording span's attributes: the operation, the agent,
// the caller's identity from ctx, and the call's own.
func (r *Recorder) annotate(ctx context.Context, span trace.Span, op string, extra attribute.KeyValue, opts []CallOption) {
	var buf [16]attribute.KeyValue
	attrs := append(buf[:0], attribute.String(telemetry.GenAIOperationName, op))
	attrs = append(attrs, r.base...)
	if extra.Key != "" {
		attrs = append(attrs, extra)
	}
	kind := r.self.Kind
	if p, ok := agentid.FromContext(ctx); ok {
		kind = p.Kind
		if p.UserID != "" {
			attrs = append(attrs, attribute.String(telemetry.UserID, r.userID(p.UserID)))
		}
		if len(p.Actors) > 0 {
			attrs = append(attrs, attribute.Int(telemetry.DelegationDepth, len(p.Actors)))
		}
	}
	if kind != agentid.KindUnknown {
		attrs = append(attrs, attribute.String(telemetry.AgentKind, kind.String()))
	}
	if len(opts) > 0 {
		var cc callConfig
		for _, o := range opts {
			o(&cc)
		}
		attrs = append(attrs, cc.attrs...)
	}
	span.SetAttributes(attrs...)
}

// End ends the call. A non-nil err marks it failed, with error.type set
// to the error's type (its message, which may hold user data, is not
// recorded).
func (c Call) End(err error) {
	if c.span == nil {
		return
	}
	if err != nil && c.span.IsRecording() {
		c.span.SetAttributes(attribute.String(telemetry.ErrorType, errorType(err)))
		c.span.SetStatus(codes.Error, "")
	}
	c.span.End()
}

// SetAttributes adds attributes to the call.
func (c Call) SetAttributes(kv ...attribute.KeyValue) {
	if c.span != nil {
		c.span.SetAttributes(kv...)
	}
}

// errorType names an error without its message: a context error, else
// its dynamic type.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return typeName(err)
}

// userID returns the id recorded for a user: a pseudonym unless raw ids
// were asked for.
func (r *Recorder) userID(id string) string {
	if r.pseudo == nil {
		return id
	}
	return r.pseudo.of(id)
}

// pseudonymizer maps user ids to keyed-hash pseudonyms, remembering
// recent ones.
type pseudonymizer struct {
	key []byte

	mu    sync.Mutex // guards cache
	cache map[string]string
}

// maxPseudonyms bounds the pseudonym cache; it is emptied when full.
const maxPseudonyms = 4096

func (p *pseudonymizer) of(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if v, ok := p.cache[id]; ok {
		return v
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(id))
	v := "psn:" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
	if len(p.cache) >= maxPseudonyms {
		clear(p.cache)
	}
	p.cache[id] = v
	return v
}
