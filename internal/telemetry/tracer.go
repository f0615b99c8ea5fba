package telemetry

import (
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Tracer finds the tracer a package records with: that of the provider
// it was configured with, or else that of the global provider as the
// program sets it. It reports tracing off (a nil tracer) for a no-op
// provider, and for the global provider while the program has installed
// none, so that instrumented code can skip all work at the cost of an
// atomic load. It is safe for concurrent use.
type Tracer struct {
	scope  string
	tracer trace.Tracer // of the configured provider; nil when off
	global bool
	cached atomic.Pointer[globalTracer]
}

type globalTracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
}

// defaultGlobal is the global tracer provider as it is before a program
// installs one.
var defaultGlobal = otel.GetTracerProvider()

// NewTracer returns the Tracer of scope for tp; a nil tp follows the
// global provider.
func NewTracer(tp trace.TracerProvider, scope string) *Tracer {
	t := &Tracer{scope: scope}
	switch tp.(type) {
	case nil:
		t.global = true
	case noop.TracerProvider, *noop.TracerProvider:
	default:
		t.tracer = tp.Tracer(scope, trace.WithInstrumentationVersion(Version))
	}
	return t
}

// Get returns the tracer to record with now, or nil when tracing is off.
func (t *Tracer) Get() trace.Tracer {
	if !t.global {
		return t.tracer
	}
	tp := otel.GetTracerProvider()
	if tp == defaultGlobal {
		return nil
	}
	if c := t.cached.Load(); c != nil && c.tp == tp {
		return c.tracer
	}
	tr := tp.Tracer(t.scope, trace.WithInstrumentationVersion(Version))
	t.cached.Store(&globalTracer{tp: tp, tracer: tr})
	return tr
}
