package policy

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
	"go.opentelemetry.io/otel/trace"

	"github.com/agentpassport/passport/internal/telemetry"
)

// scopeName is the instrumentation scope of the decision spans.
const scopeName = telemetry.ScopeName + "/policy"

var spanKindInternal = trace.WithSpanKind(trace.SpanKindInternal)

// Engine decides requests with a set of Cedar policies, loaded from a
// [Source], validated against the agent entity model and indexed by
// scope. It implements [Decider].
//
// An Engine is safe for concurrent use. A reload swaps the whole set at
// once: every decision sees one set, old or new. An engine made with
// [WithWatch] polls its source in a goroutine; Close stops it. Close
// is idempotent, and after it Decide and Reload return [ErrClosed]. An
// Engine must not be copied.
type Engine struct {
	cfg          *config
	src          Source
	validator    *validate.Validator
	schema       string
	groups       types.EntityMap
	counterNames []string
	ctr          *counters // nil when no counter is declared
	caches       *caches
	ctxs         *ctxCache
	tracer       *telemetry.Tracer

	cur atomic.Pointer[policySet]

	loadMu   sync.Mutex // serializes loads; guards revision
	revision uint64
	errMu    sync.Mutex // guards lastErr
	lastErr  error

	closed    atomic.Bool
	closeOnce sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

var _ Decider = (*Engine)(nil)

// New returns an engine with the policies of src. ctx bounds the first
// load only. It fails if the options are invalid or the first load
// fails: a document that does not parse, a policy that does not validate
// against the schema ([Engine.Schema]) — each reported as a
// [*LoadError] with its file, line and reason — or a refused bundle.
//
// With [WithWatch], the engine polls src until Close.
func New(ctx context.Context, src Source, opts ...Option) (*Engine, error) {
	if src == nil {
		return nil, fmt.Errorf("policy: New: nil source")
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	groups := groupEntities(cfg.groups)
	e := &Engine{
		cfg:          cfg,
		src:          src,
		schema:       schemaText(cfg),
		groups:       groups,
		counterNames: cfg.counterNames(),
		ctr:          newCounters(cfg),
		caches:       newCaches(groups),
		ctxs:         newCtxCache(),
		tracer:       telemetry.NewTracer(cfg.tp, scopeName),
	}
	if e.validator, err = newValidator(e.schema); err != nil {
		return nil, err
	}
	if err := e.load(ctx); err != nil {
		return nil, err
	}
	if cfg.watch > 0 {
		wctx, cancel := context.WithCancel(context.Background())
		e.cancel = cancel
		e.wg.Add(1)
		go e.watch(wctx)
	}
	return e, nil
}

// Decide decides req with the current policy set. It returns an error,
// and no decision, only when it cannot decide: the engine is closed
// ([ErrClosed]), req is invalid ([ErrInvalidRequest]) or the enricher
// failed. Enforcement helpers treat an error as a denial.
//
// In [ReportOnly] mode the decision allows, and says whether enforcing
// would have denied. A decision that lets the call go ahead is counted
// by the session counters. The observer, if any, sees every decision.
func (e *Engine) Decide(ctx context.Context, req Request) (Decision, error) {
	if e.closed.Load() {
		return Decision{}, ErrClosed
	}
	if e.cfg.enrich != nil {
		r := req // only an enriched request goes to the heap
		if err := e.cfg.enrich(ctx, &r); err != nil {
			return Decision{}, fmt.Errorf("policy: enricher: %w", err)
		}
		req = r
	}
	if err := req.validate(); err != nil {
		return Decision{}, err
	}
	var span trace.Span
	if tr := e.tracer.Get(); tr != nil {
		ctx, span = tr.Start(ctx, telemetry.OpPolicyDecision+" "+string(req.Action), spanKindInternal)
		defer span.End()
	}
	sc := scratchPool.Get().(*scratch)
	defer func() {
		clear(sc.sel)
		clear(sc.args)
		scratchPool.Put(sc)
	}()
	args, err := e.convertArgs(&req, sc)
	if err != nil {
		return Decision{}, err
	}
	now := e.cfg.now()
	creq, ev, dv := e.entities(&req)
	ps := e.cur.Load()
	dv.candidates(ps.idx, sc)
	need := sc.sel.needs()
	var ctr []int64
	if need&needCounters != 0 && e.ctr != nil {
		sc.ctr = e.ctr.values(&req, args, now, sc.ctr[:0])
		ctr = sc.ctr
	}
	creq.Context = e.context(&req, need, now, args, ctr, sc)
	dec, diag := cedar.Authorize(sc, ev, creq)

	d := e.decision(dec, &diag)
	if d.Allow && e.ctr != nil {
		e.ctr.commit(&req, args, now)
	}
	if span != nil && span.IsRecording() {
		span.SetAttributes(d.attributes(&req)...)
	}
	e.report(ctx, &req, &d)
	return d, nil
}

// decision converts Cedar's answer.
func (e *Engine) decision(dec cedar.Decision, diag *cedar.Diagnostic) Decision {
	d := Decision{Mode: e.cfg.mode, WouldDeny: dec != cedar.Allow}
	d.Allow = !d.WouldDeny || d.Mode == ReportOnly
	if len(diag.Reasons) > 0 {
		d.Reasons = make([]string, len(diag.Reasons))
		for i, r := range diag.Reasons {
			d.Reasons[i] = string(r.PolicyID)
		}
		slices.Sort(d.Reasons)
	}
	if len(diag.Errors) > 0 {
		d.Errors = make([]EvalError, len(diag.Errors))
		for i, er := range diag.Errors {
			d.Errors[i] = EvalError{PolicyID: string(er.PolicyID), File: er.Position.Filename, Line: er.Position.Line, Message: er.Message}
		}
		slices.SortFunc(d.Errors, func(a, b EvalError) int { return strings.Compare(a.PolicyID, b.PolicyID) })
	}
	return d
}

// Schema returns the Cedar schema, in the human-readable format, that
// the engine validates policies against: [BaseSchema] and the Args and
// Counters types its options declare.
func (e *Engine) Schema() string { return e.schema }

// Mode returns the mode of the engine's policy set.
func (e *Engine) Mode() Mode { return e.cfg.mode }

// Status is the state of an engine's policy set.
type Status struct {
	// Revision counts the sets loaded: 1 after New, and one more on each
	// load that changed the set.
	Revision uint64
	// Policies is the number of policies in the current set.
	Policies int
	// Digest is the SHA-256 of the current documents, in hex.
	Digest string
	// Version is the version of the current snapshot (a bundle's).
	Version string
	// LoadedAt is when the current set was loaded.
	LoadedAt time.Time
	// Err is the error of the last load, nil if it succeeded: a bad
	// update that left the current set in place.
	Err error
}

// Status returns the state of the engine's policy set. It is safe to
// call at any time, Close included.
func (e *Engine) Status() Status {
	ps := e.cur.Load()
	e.errMu.Lock()
	err := e.lastErr
	e.errMu.Unlock()
	return Status{
		Revision: ps.revision,
		Policies: len(ps.idx.entries),
		Digest:   hex.EncodeToString(ps.digest[:]),
		Version:  ps.version,
		LoadedAt: ps.loadedAt,
		Err:      err,
	}
}

// PolicyIDs returns the ids of the policies of the current set, in load
// order.
func (e *Engine) PolicyIDs() []string {
	ps := e.cur.Load()
	ids := make([]string, len(ps.idx.entries))
	for i, en := range ps.idx.entries {
		ids[i] = string(en.id)
	}
	return ids
}

// Close stops the watcher, if any, and waits for it. It is idempotent
// and always returns nil.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		if e.cancel != nil {
			e.cancel()
		}
		e.wg.Wait()
	})
	return nil
}
