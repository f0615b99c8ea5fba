package audit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporter is an OpenTelemetry [sdktrace.SpanExporter] that reports spans
// to an agent registry, or to any OTLP/HTTP endpoint such as an
// OpenTelemetry Collector. Use it under a batch span processor:
//
//	exp, err := audit.NewExporter("https://registry.example.com",
//		audit.WithTokenSource(agentCredentials, credentials.Request{Scopes: []string{"api://registry/.default"}}),
//		audit.WithSpool("/var/lib/agent/audit-spool", 256<<20))
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//
// # Requests
//
// ExportSpans converts the spans to OTLP (resource, scope, kind, status,
// events, links and every attribute type), redacts them, partitions them
// by destination, truncates spans over the span bound, splits each
// partition into bodies under the body bound, and posts each body with
// a bearer token from the token source (one Token call per request; the
// source caches). Network failures and 408, 429 and 5xx answers are
// retried within the retry bounds, waiting at least what Retry-After
// asks. An OTLP partialSuccess that rejected spans is a
// [*PartialSuccessError]; rejected spans are not sent again.
//
// # Redaction
//
// Secrets never leave the process. Values are replaced by [Redacted]:
// those of the keys given to [WithRedactedAttributes] (any type); the
// string, bytes, slice and map values of every key that contains, in any
// case, "authorization", "token", "secret", "password", "passwd",
// "cookie", "api_key", "apikey", "api-key" or "private_key" (such as
// http.request.header.authorization), except this module's own
// passport.token.* attributes, which name no token; and, in every string
// (attribute values, span and event names, status messages), every JWT
// (base64url segments starting with "eyJ") and the credential of every
// "Bearer …". Numbers and booleans under a sensitive key, such as token
// counts, are kept.
//
// # Spool
//
// With [WithSpool], a body that could not be delivered (no answer, 408,
// 429, 5xx, 401, 403, or no token) is appended to a durable file spool,
// and ExportSpans returns nil for it. While the spool holds records, new
// bodies go to it too, so that order is kept, and ExportSpans does not
// wait for the endpoint. One background goroutine re-sends the spool
// oldest first, backing off between failed rounds and honouring
// Retry-After, until Shutdown; after a restart on the same directory it
// re-sends what the previous process left. A record is committed (the
// cursor written and fsync'd) right after its 2xx answer, so no record
// is sent twice, except in one case: a crash or Shutdown between the
// endpoint storing a record and the cursor write (or a client timeout
// after the endpoint stored it) sends that record once more. The
// endpoint may therefore see a body twice, never lose one; the bound of
// the spool is the only reason a span is dropped, and drops are counted.
//
// An Exporter is safe for concurrent use. Call Shutdown to stop it.
type Exporter struct {
	cfg   *exporterConfig
	base  string // the endpoint, without a trailing slash
	red   redactor
	spool *spool // nil without WithSpool
	stats *counters

	ctx    context.Context    // ended by Shutdown; bounds every request
	cancel context.CancelFunc // ends ctx
	flush  chan struct{}      // ForceFlush asks the resender for a round now

	mu     sync.RWMutex   // guards closed, so that wg.Add never races wg.Wait
	closed bool           // set by Shutdown
	wg     sync.WaitGroup // ExportSpans and ForceFlush calls in flight, and the resender
	once   sync.Once      // starts the shutdown once
	done   chan struct{}  // closed when the shutdown has finished
	endErr error          // what closing the spool returned; read after done
}

var _ sdktrace.SpanExporter = (*Exporter)(nil)

// maxIDBytes bounds the tenant and agent ids of an Agent 365 partition;
// spans with longer ids are filtered.
const maxIDBytes = 256

// NewExporter returns an Exporter that posts to endpoint, a base URL such
// as https://registry.example.com or http://localhost:4318: plain mode
// posts to {endpoint}/v1/traces, Agent 365 mode to
// {endpoint}/observability/.... An http:// endpoint is allowed only on a
// loopback host, or with [WithInsecureHTTP]. With [WithSpool] it opens
// the spool (recovering what a previous process left) and starts the
// resender. It makes no network call.
func NewExporter(endpoint string, opts ...ExporterOption) (*Exporter, error) {
	cfg, err := newExporterConfig(opts)
	if err != nil {
		return nil, err
	}
	base, err := checkEndpoint(endpoint, cfg.insecure)
	if err != nil {
		return nil, err
	}
	e := &Exporter{
		cfg:   cfg,
		base:  base,
		red:   redactor{keys: cfg.redacted},
		stats: newCounters(cfg.meters),
		flush: make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if cfg.spoolDir != "" {
		sp, torn, err := openSpool(cfg.spoolDir, cfg.spoolMax, cfg.logger)
		if err != nil {
			e.cancel()
			return nil, err
		}
		e.spool = sp
		e.stats.torn.add(int64(torn))
		e.wg.Add(1)
		go e.resend()
	}
	return e, nil
}

// checkEndpoint validates the endpoint and returns it without a trailing
// slash.
func checkEndpoint(endpoint string, insecure bool) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", fmt.Errorf("audit: invalid endpoint: %w", err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("audit: endpoint scheme %q: want https (or http on loopback)", u.Scheme)
	case u.Host == "":
		return "", errors.New("audit: endpoint has no host")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", errors.New("audit: endpoint must have no user info, query or fragment")
	case u.Scheme == "http" && !insecure && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("audit: refusing plain http to %s: use https, a loopback host, or WithInsecureHTTP", u.Hostname())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// isLoopback reports whether host is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// enter registers a call in flight; it reports false after Shutdown.
func (e *Exporter) enter() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return false
	}
	e.wg.Add(1)
	return true
}

// ExportSpans sends spans to the endpoint, or to the spool when they
// cannot be delivered (see [Exporter]). It returns nil when every body
// was accepted or spooled; else the errors of the bodies that were not,
// joined: a [*StatusError], a [*PartialSuccessError], an error matching
// [ErrAgentMismatch] or [ErrSpoolFull], or a network or token error
// without a spool. It honours ctx, and Shutdown ends it. After Shutdown
// it returns [ErrClosed].
func (e *Exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.wg.Done()
	if len(spans) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.ctx, cancel)
	defer stop()

	bodies := e.encode(spans)
	var errs []error
	for _, b := range bodies {
		if err := e.deliver(ctx, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// encode converts, redacts, filters, partitions, truncates and splits.
func (e *Exporter) encode(spans []sdktrace.ReadOnlySpan) []*body {
	mem := getArena()
	// The messages die with encode: the bodies are bytes.
	defer putArena(mem)
	enc := &encoder{
		conv:    converter{red: &e.red, mem: mem, jsonIDs: e.cfg.encoding == EncodingJSON},
		enc:     e.cfg.encoding,
		maxBody: e.cfg.maxBody,
		maxSpan: e.cfg.maxSpan,
		hint:    len(spans),
	}
	var filtered int64
	for _, s := range spans {
		if s == nil {
			continue
		}
		path, tenant, agent := plainPath, "", ""
		if e.cfg.agent365 {
			t, a, ok := a365Route(s)
			if !ok || len(t) > maxIDBytes || len(a) > maxIDBytes {
				filtered++
				continue
			}
			path, tenant, agent = a365Path(t, a), t, a
		}
		p := enc.partition(path, tenant, agent)
		rg, sg := enc.group(p, s.Resource(), s.InstrumentationScope())
		enc.add(rg, sg, enc.conv.span(s))
	}
	if filtered > 0 {
		e.stats.filtered.add(filtered)
		e.cfg.logger.Debug("audit: spans filtered", "spans", filtered)
	}
	return enc.bodies()
}

// deliver posts one body, or spools it.
func (e *Exporter) deliver(ctx context.Context, b *body) error {
	spans := int64(b.spans)
	if e.spool != nil {
		if n, _ := e.spool.watch(); n > 0 {
			// Behind older bodies: refuse a mismatch now if the token can
			// be had (the resender checks again), else spool.
			if e.cfg.agent365 {
				if tok, err := e.tokenFor(ctx); err == nil && tok != nil {
					if err := checkAgent(tok.AccessToken(), b.agent); err != nil {
						e.stats.refused.add(spans)
						e.cfg.logger.Error("audit: spans refused", "agent", b.agent, "spans", spans, "error", err)
						return err
					}
				}
			}
			return e.toSpool(b, nil)
		}
	}
	rejected, msg, err := e.send(ctx, b)
	switch {
	case err == nil:
		rejected = min(max(rejected, 0), spans)
		e.stats.exported.add(spans - rejected)
		if rejected > 0 {
			e.stats.rejected.add(rejected)
			e.cfg.logger.Warn("audit: endpoint rejected spans", "path", b.path, "rejected", rejected, "message", msg)
			return &PartialSuccessError{Rejected: rejected, Message: msg}
		}
		return nil
	case errors.Is(err, ErrAgentMismatch):
		e.stats.refused.add(spans)
		e.cfg.logger.Error("audit: spans refused", "agent", b.agent, "spans", spans, "error", err)
		return err
	case !spoolable(err):
		e.stats.rejected.add(spans)
		e.cfg.logger.Error("audit: endpoint refused a body", "path", b.path, "spans", spans, "error", err)
		return err
	case e.spool != nil:
		return e.toSpool(b, err)
	default:
		e.stats.failed.add(spans)
		e.cfg.logger.Warn("audit: export failed", "path", b.path, "spans", spans, "error", err)
		return err
	}
}

// toSpool appends b to the spool; cause is why it was not delivered.
func (e *Exporter) toSpool(b *body, cause error) error {
	spans := int64(b.spans)
	if err := e.spool.append(b); err != nil {
		if errors.Is(err, ErrSpoolFull) {
			e.stats.dropped.add(spans)
			e.cfg.logger.Error("audit: spool full, spans dropped", "spans", spans, "bytes", len(b.data))
			return fmt.Errorf("%w: %d spans", ErrSpoolFull, spans)
		}
		e.stats.failed.add(spans)
		e.cfg.logger.Error("audit: spooling failed, spans lost", "spans", spans, "error", err)
		return errors.Join(err, cause)
	}
	e.stats.spooled.add(spans)
	if cause != nil {
		e.cfg.logger.Info("audit: endpoint unavailable, body spooled", "path", b.path, "spans", spans, "error", cause)
	}
	return nil
}

// ForceFlush asks the resender to deliver the spool now and waits until
// the spool is empty or ctx ends. Without a spool it returns nil at once:
// ExportSpans delivers synchronously. After Shutdown it returns
// [ErrClosed].
func (e *Exporter) ForceFlush(ctx context.Context) error {
	if !e.enter() {
		return ErrClosed
	}
	defer e.wg.Done()
	if e.spool == nil {
		return nil
	}
	select {
	case e.flush <- struct{}{}:
	default:
	}
	for {
		n, changed := e.spool.watch()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("audit: ForceFlush: %d records still spooled: %w", n, ctx.Err())
		case <-e.ctx.Done():
			return ErrClosed
		}
	}
}

// Shutdown stops the exporter: it ends the requests in flight (a body
// that was being sent goes to the spool), stops the resender without
// trying to deliver the spool (a later Exporter on the same directory
// will), waits for them, and closes the spool. It returns ctx.Err() if
// ctx ends first; the shutdown then still finishes in the background.
// Shutdown is idempotent.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.once.Do(func() {
		e.mu.Lock()
		e.closed = true
		e.mu.Unlock()
		e.cancel()
		go func() {
			e.wg.Wait()
			if e.spool != nil {
				e.endErr = e.spool.close()
			}
			if e.cfg.ownHC {
				e.cfg.hc.CloseIdleConnections()
			}
			close(e.done)
		}()
	})
	select {
	case <-e.done:
		return e.endErr
	case <-ctx.Done():
		return ctx.Err()
	}
}
