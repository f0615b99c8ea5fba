package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/internal/retry"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Encoding is the body encoding of OTLP/HTTP requests.
type Encoding int

const (
	// EncodingProtobuf sends binary protobuf bodies
	// (Content-Type: application/x-protobuf). It is the default.
	EncodingProtobuf Encoding = iota
	// EncodingJSON sends OTLP/JSON bodies (Content-Type: application/json),
	// with trace and span ids in hex and enums as integers, as the OTLP
	// specification requires.
	EncodingJSON
)

// String returns "protobuf" or "json".
func (e Encoding) String() string {
	switch e {
	case EncodingProtobuf:
		return "protobuf"
	case EncodingJSON:
		return "json"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

func (e Encoding) contentType() string {
	if e == EncodingJSON {
		return contentTypeJSON
	}
	return contentTypeProtobuf
}

const (
	contentTypeProtobuf = "application/x-protobuf"
	contentTypeJSON     = "application/json"
)

// Defaults and hard bounds of the exporter.
const (
	// DefaultMaxBodyBytes is the default bound of a request body: 1 MiB.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxSpanBytes is the default bound of one encoded span:
	// 250 KiB. Larger spans are truncated.
	DefaultMaxSpanBytes = 250 << 10

	minBodyBytes   = 4 << 10
	maxBodyBytes   = 32 << 20 // a spool record holds one body; see maxRecordBytes
	minSpanBytes   = 1 << 10
	defaultTimeout = 30 * time.Second
)

// ExporterOption configures [NewExporter]. Options are sealed: only this
// package makes them. A nil option is ignored.
type ExporterOption interface{ applyExporter(*exporterConfig) }

type exporterOptionFunc func(*exporterConfig)

func (f exporterOptionFunc) applyExporter(c *exporterConfig) { f(c) }

// exporterConfig is the configuration of an Exporter, fixed by NewExporter.
type exporterConfig struct {
	src         credentials.Source
	req         credentials.Request
	encoding    Encoding
	agent365    bool
	spoolDir    string
	spoolMax    int64
	hc          *http.Client
	ownHC       bool // hc was made here; Shutdown closes its idle connections
	insecure    bool
	redacted    map[string]bool
	retry       retry.Policy
	maxBody     int
	maxSpan     int
	meters      metric.MeterProvider
	logger      *slog.Logger
	resendMax   time.Duration // longest wait of the resender between rounds
	resendFirst time.Duration // first wait of the resender after a failure
}

// newExporterConfig applies the defaults, then opts, then validates.
func newExporterConfig(opts []ExporterOption) (*exporterConfig, error) {
	c := &exporterConfig{
		encoding: EncodingProtobuf,
		redacted: map[string]bool{},
		retry:    retry.Policy{MaxAttempts: 4, MaxElapsed: 30 * time.Second},
		maxBody:  DefaultMaxBodyBytes,
		maxSpan:  DefaultMaxSpanBytes,
	}
	for _, o := range opts {
		if o != nil {
			o.applyExporter(c)
		}
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: defaultTimeout, Transport: defaultTransport()}
		c.ownHC = true
	}
	if c.meters == nil {
		c.meters = otel.GetMeterProvider()
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	// The resender backs off as the foreground retries do, but never
	// gives up: its waits grow from the retry's first wait to the smaller
	// of 5 s and the retry's elapsed bound.
	c.resendFirst = 250 * time.Millisecond
	c.resendMax = 5 * time.Second
	if c.retry.MaxElapsed > 0 && c.retry.MaxElapsed < c.resendMax {
		c.resendMax = max(c.retry.MaxElapsed, 50*time.Millisecond)
		c.resendFirst = min(c.resendFirst, c.resendMax)
	}
	var errs []error
	if c.encoding != EncodingProtobuf && c.encoding != EncodingJSON {
		errs = append(errs, fmt.Errorf("audit: WithEncoding(%d): unknown encoding", int(c.encoding)))
	}
	if c.retry.MaxAttempts < 1 || c.retry.MaxElapsed < 0 {
		errs = append(errs, errors.New("audit: WithRetry: want at least 1 attempt and a non-negative elapsed time"))
	}
	if c.maxBody < minBodyBytes || c.maxBody > maxBodyBytes {
		errs = append(errs, fmt.Errorf("audit: WithMaxBodyBytes(%d): want %d to %d", c.maxBody, minBodyBytes, maxBodyBytes))
	}
	if c.maxSpan < minSpanBytes || c.maxSpan > c.maxBody/2 {
		errs = append(errs, fmt.Errorf("audit: WithMaxSpanBytes(%d): want %d to half the body bound (%d)", c.maxSpan, minSpanBytes, c.maxBody/2))
	}
	if c.spoolDir != "" && c.spoolMax < int64(c.maxBody)+recordOverhead {
		errs = append(errs, fmt.Errorf("audit: WithSpool: a bound of %d bytes cannot hold one body of %d bytes", c.spoolMax, c.maxBody))
	}
	if c.agent365 && c.src == nil {
		errs = append(errs, errors.New("audit: WithAgent365 needs WithTokenSource: the agent id of every partition is checked against the token"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// defaultTransport returns a clone of http.DefaultTransport when it is an
// *http.Transport, with a few more idle connections per host.
func defaultTransport() http.RoundTripper {
	t, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return http.DefaultTransport
	}
	t = t.Clone()
	t.MaxIdleConnsPerHost = 8
	return t
}

// WithTokenSource authenticates every request with a bearer token from
// src for req: one Token call per request sent (the source caches). The
// default is no Authorization header, for a local collector. A token is
// never sent over plain HTTP except to loopback or with
// [WithInsecureHTTP]. A nil src is ignored.
func WithTokenSource(src credentials.Source, req credentials.Request) ExporterOption {
	req.Scopes = append([]string(nil), req.Scopes...)
	return exporterOptionFunc(func(c *exporterConfig) {
		if src != nil {
			c.src, c.req = src, req
		}
	})
}

// WithEncoding sets the body encoding: [EncodingProtobuf] (the default)
// or [EncodingJSON].
func WithEncoding(e Encoding) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.encoding = e })
}

// WithAgent365 switches to the Microsoft Agent 365 observability
// protocol: spans are partitioned by (microsoft.tenant.id,
// gen_ai.agent.id), each partition is posted to
// {endpoint}/observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1,
// only the operations invoke_agent, execute_tool, chat, output_messages
// and apply_guardrail are sent (the rest are counted as Filtered), and
// the agent id of a partition must be the app id (azp, else appid) of
// the bearer token, else its spans are refused (counted as Refused). It
// needs [WithTokenSource]. The default is plain OTLP/HTTP: every span
// to {endpoint}/v1/traces.
func WithAgent365() ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.agent365 = true })
}

// WithSpool keeps the bodies that could not be delivered in an
// append-only, checksummed file spool in dir, holding at most maxBytes of
// segment files, and re-sends them oldest first when the endpoint
// answers, also after a restart. When a body would push the spool past
// maxBytes it is dropped and counted (Stats.Dropped), never silently.
// maxBytes must hold at least one body. Only one Exporter may use a
// directory at a time. The default is no spool: a body that cannot be
// delivered is an error of ExportSpans.
func WithSpool(dir string, maxBytes int64) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.spoolDir, c.spoolMax = dir, maxBytes })
}

// WithHTTPClient sets the HTTP client of every request. The default has a
// 30-second timeout. A request that times out on the client after the
// server stored it is sent again later, so keep the timeout above the
// server's answer time. A nil client is ignored.
func WithHTTPClient(hc *http.Client) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) {
		if hc != nil {
			c.hc, c.ownHC = hc, false
		}
	})
}

// WithInsecureHTTP allows an http:// endpoint on a host other than
// loopback. Never use it in production: anyone on the path reads the
// token and the spans. By default only https and loopback http are
// allowed.
func WithInsecureHTTP() ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.insecure = true })
}

// WithRedactedAttributes adds attribute keys (exact match) whose values
// are replaced by "[REDACTED]" before spans leave the process, on spans,
// events, links, resources and scopes. The well-known sensitive keys and
// values are always redacted; see [Exporter].
func WithRedactedAttributes(keys ...string) ExporterOption {
	keys = append([]string(nil), keys...)
	return exporterOptionFunc(func(c *exporterConfig) {
		for _, k := range keys {
			c.redacted[k] = true
		}
	})
}

// WithRetry bounds the retries of one request body in ExportSpans: at
// most attempts requests (the first included) within elapsed. Only
// network failures, 408, 429 and 5xx answers are retried, waiting at
// least as long as a Retry-After header asks. The default is 4 attempts
// within 30 s. The spool's resender waits between its rounds from
// 250 ms up to the smaller of 5 s and elapsed.
func WithRetry(attempts int, elapsed time.Duration) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) {
		c.retry = retry.Policy{MaxAttempts: attempts, MaxElapsed: elapsed}
	})
}

// WithMaxBodyBytes bounds a request body; larger batches are split into
// several requests (a span is never split). The default is
// [DefaultMaxBodyBytes] (1 MiB); valid values run from 4 KiB to 32 MiB.
func WithMaxBodyBytes(n int) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.maxBody = n })
}

// WithMaxSpanBytes bounds one encoded span. A larger span has its largest
// string attributes shortened until it fits (then, if still too large,
// its events, links and largest attributes dropped), and gets the
// attributes passport.truncated = true and passport.truncated.keys, the
// keys shortened or dropped. The default is [DefaultMaxSpanBytes]
// (250 KiB); valid values run from 1 KiB to half the body bound.
func WithMaxSpanBytes(n int) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) { c.maxSpan = n })
}

// WithMeterProvider sets the meter provider of the exporter's counters
// (passport.audit.spans.*). The default is otel.GetMeterProvider(). A nil
// provider is ignored.
func WithMeterProvider(mp metric.MeterProvider) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) {
		if mp != nil {
			c.meters = mp
		}
	})
}

// WithLogger sets the logger for delivery failures, spooling, drops and
// refusals. The default discards everything. Neither tokens nor bodies
// are logged.
func WithLogger(l *slog.Logger) ExporterOption {
	return exporterOptionFunc(func(c *exporterConfig) {
		if l != nil {
			c.logger = l
		}
	})
}
