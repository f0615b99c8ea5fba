package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Option configures an [Engine]. Options are sealed: only this package
// makes them.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type argDecl struct {
	name string
	typ  ArgType
}

type rateDecl struct {
	name   string
	window time.Duration
}

type totalDecl struct {
	name, arg string
	argIdx    int // index in config.args
}

type config struct {
	now        func() time.Time
	logger     *slog.Logger
	mode       Mode
	args       []argDecl
	rates      []rateDecl
	totals     []totalDecl
	counterCap int
	maxEvents  int
	sessionTTL time.Duration
	watch      time.Duration
	groups     map[string][]string
	enrich     func(context.Context, *Request) error
	observer   func(context.Context, Request, Decision)
	tp         trace.TracerProvider // nil: the global provider
}

// Defaults.
const (
	defaultCounterCap = 10_000
	defaultMaxEvents  = 1_000
	defaultSessionTTL = 24 * time.Hour
	minWatch          = 10 * time.Millisecond
)

func newConfig(opts []Option) (*config, error) {
	c := &config{
		counterCap: defaultCounterCap,
		maxEvents:  defaultMaxEvents,
		sessionTTL: defaultSessionTTL,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	seen := map[string]bool{}
	for _, a := range c.args {
		if err := checkName("argument", a.name); err != nil {
			errs = append(errs, err)
		}
		if a.typ.cedarType() == "" {
			errs = append(errs, fmt.Errorf("policy: WithArgument(%q): unknown type %d", a.name, int(a.typ)))
		}
		if seen[a.name] {
			errs = append(errs, fmt.Errorf("policy: WithArgument(%q): declared twice", a.name))
		}
		seen[a.name] = true
	}
	seen = map[string]bool{}
	for _, name := range c.counterNames() {
		if err := checkName("counter", name); err != nil {
			errs = append(errs, err)
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("policy: counter %q declared twice", name))
		}
		seen[name] = true
	}
	for _, r := range c.rates {
		if r.window <= 0 {
			errs = append(errs, fmt.Errorf("policy: WithRateCounter(%q, %v): want a positive window", r.name, r.window))
		}
	}
	for i, t := range c.totals {
		c.totals[i].argIdx = slices.IndexFunc(c.args, func(a argDecl) bool { return a.name == t.arg })
		if j := c.totals[i].argIdx; j < 0 || c.args[j].typ != ArgLong {
			errs = append(errs, fmt.Errorf("policy: WithTotalCounter(%q, %q): the argument must be declared with WithArgument as ArgLong", t.name, t.arg))
		}
	}
	if c.counterCap < 1 {
		errs = append(errs, fmt.Errorf("policy: WithCounterLimits(%d, …): want at least 1 entry", c.counterCap))
	}
	if c.maxEvents < 1 {
		errs = append(errs, fmt.Errorf("policy: WithCounterLimits(…, %d): want at least 1 event", c.maxEvents))
	}
	if c.sessionTTL <= 0 {
		errs = append(errs, fmt.Errorf("policy: WithSessionTTL(%v): want a positive duration", c.sessionTTL))
	}
	if c.watch != 0 && c.watch < minWatch {
		errs = append(errs, fmt.Errorf("policy: WithWatch(%v): want 0 or at least %v", c.watch, minWatch))
	}
	if c.mode != Enforce && c.mode != ReportOnly {
		errs = append(errs, fmt.Errorf("policy: unknown mode %d", int(c.mode)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// counterNames returns the names of the declared counters, rates first.
func (c *config) counterNames() []string {
	names := make([]string, 0, len(c.rates)+len(c.totals))
	for _, r := range c.rates {
		names = append(names, r.name)
	}
	for _, t := range c.totals {
		names = append(names, t.name)
	}
	return names
}

// WithClock sets the clock that gives context.time, drives the session
// counters and tells whether a signed bundle has expired, for tests. The
// default is [time.Now]. A nil clock is ignored.
//
// The value configures engines ([Option]) and bundle sources
// ([BundleOption]) alike.
func WithClock(now func() time.Time) interface {
	Option
	BundleOption
} {
	return clockOption(now)
}

type clockOption func() time.Time

func (o clockOption) apply(c *config) {
	if o != nil {
		c.now = o
	}
}

func (o clockOption) applyBundle(c *bundleConfig) {
	if o != nil {
		c.now = o
	}
}

// WithLogger sets the logger for reloads, rejected updates and
// report-only denials. The default discards everything. Argument values
// and tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithMode sets the mode of the engine's policy set. The default is
// [Enforce]; [ReportOnly] computes, reports and returns every decision
// but allows every request.
func WithMode(m Mode) Option {
	return optionFunc(func(c *config) { c.mode = m })
}

// WithArgument declares a tool argument that policies may read as
// context.args.<name> (an optional attribute: test it with
// `context.args has <name>`). Undeclared arguments never reach the
// policies. By default none is declared.
func WithArgument(name string, typ ArgType) Option {
	return optionFunc(func(c *config) { c.args = append(c.args, argDecl{name, typ}) })
}

// WithRateCounter declares context.counters.<name>: the number of calls
// the same agent made with the same action to the same resource in the
// sliding window that ends now, counting the call being decided. Only
// calls that went ahead (allowed, or report-only) are counted. By
// default no counter is declared.
//
// "No more than 10 refunds a minute" is then
//
//	forbid (principal, action, resource == Tool::"refund")
//	when { context.counters.<name> > 10 };
func WithRateCounter(name string, window time.Duration) Option {
	return optionFunc(func(c *config) { c.rates = append(c.rates, rateDecl{name: name, window: window}) })
}

// WithTotalCounter declares context.counters.<name>: the running total
// of the Long argument arg over the calls of the same agent in the same
// session (Subject.Session; per agent when empty), counting the call
// being decided. Only calls that went ahead are added. arg must be
// declared with [WithArgument] as [ArgLong].
func WithTotalCounter(name, arg string) Option {
	return optionFunc(func(c *config) { c.totals = append(c.totals, totalDecl{name: name, arg: arg}) })
}

// WithCounterLimits bounds the memory of the session counters: at most
// entries keys (one per (agent, action, resource) for rates, one per
// (agent, session) for totals), the least recently used evicted first,
// and at most events remembered calls per key, so that a rate counter
// never reads more than events. The defaults are 10 000 and 1 000.
func WithCounterLimits(entries, events int) Option {
	return optionFunc(func(c *config) { c.counterCap, c.maxEvents = entries, events })
}

// WithSessionTTL sets how long a session's running totals are kept after
// its last call. The default is 24 hours.
func WithSessionTTL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.sessionTTL = d })
}

// WithWatch makes the engine poll its sources every interval and load
// them again when they change (files by modification time, size and
// content hash; bundles by content). A bad update keeps the last good
// policy set; see [Engine.Status]. The default, 0, does not poll; the
// minimum is 10ms. A watching engine must be closed.
func WithWatch(interval time.Duration) Option {
	return optionFunc(func(c *config) { c.watch = interval })
}

// WithGroups sets the nesting of groups: parents[g] are the groups that
// Group::"g" is a member of, so that `principal in Group::"staff"`
// holds for an agent in a group nested in staff. The map is copied. By
// default groups do not nest.
func WithGroups(parents map[string][]string) Option {
	return optionFunc(func(c *config) {
		c.groups = maps.Clone(parents)
		for k, v := range c.groups {
			c.groups[k] = slices.Clone(v)
		}
	})
}

// WithEnricher sets a function called on every request before it is
// decided, to add what a token does not tell (the agent's risk level,
// sponsors, tags, groups, or the user's groups), for instance from the
// agent registry. An error fails the decision. It must be safe for
// concurrent use. By default requests are decided as given.
func WithEnricher(f func(ctx context.Context, req *Request) error) Option {
	return optionFunc(func(c *config) { c.enrich = f })
}

// WithTracerProvider sets the tracer provider of decision spans: one
// "policy_decision {action}" span per decision, child of the span in the
// context, with the outcome, the mode and the ids of the determining
// policies (never an argument value). A nil provider is ignored; a no-op
// provider turns them off. The default is the global provider, followed
// as it changes (no span while none is installed); this package never
// installs one.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	})
}

// WithObserver sets a function called with every decision, after it is
// made: to audit, trace or count decisions. It must be quick and safe
// for concurrent use, and must not keep req's slices. By default there
// is none.
func WithObserver(f func(ctx context.Context, req Request, d Decision)) Option {
	return optionFunc(func(c *config) { c.observer = f })
}
