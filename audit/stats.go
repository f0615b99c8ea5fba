package audit

import (
	"context"
	"sync/atomic"

	"github.com/agentpassport/passport/internal/telemetry"
	"go.opentelemetry.io/otel/metric"
)

// Stats counts what an [Exporter] did with the spans handed to it since
// it was created. Every count is also an OpenTelemetry counter on the
// exporter's meter (see [WithMeterProvider]), named after the field:
// passport.audit.spans.exported, .resent, .spooled, .dropped, .rejected,
// .filtered, .refused, .failed, and passport.audit.spool.torn_records.
//
// A span handed to ExportSpans ends up in exactly one of Exported,
// Spooled (then later in Resent, Rejected, Refused or, after a restart,
// still pending), Dropped, Rejected, Filtered, Refused or Failed.
type Stats struct {
	// Exported counts spans the endpoint accepted from ExportSpans.
	Exported int64
	// Spooled counts spans written to the spool because their body could
	// not be delivered, or because older bodies were waiting there.
	Spooled int64
	// Resent counts spooled spans the endpoint accepted later.
	Resent int64
	// Dropped counts spans lost because the spool was full. No span is
	// dropped for any other reason.
	Dropped int64
	// Rejected counts spans the endpoint refused: rejected_spans of a
	// partialSuccess answer, and every span of a body answered with a 4xx
	// status that is not retried (400, 404, 413, ...).
	Rejected int64
	// Filtered counts spans not sent by design: in Agent 365 mode, spans
	// of another operation or without a tenant or agent id.
	Filtered int64
	// Refused counts spans the exporter refused to send in Agent 365
	// mode because their agent id is not the token's app id.
	Refused int64
	// Failed counts spans whose delivery failed with no spool configured:
	// ExportSpans returned the error.
	Failed int64
	// TornRecords counts spool records found torn or corrupt (a write cut
	// short by a crash, a flipped byte) and skipped.
	TornRecords int64
	// Pending is the number of spans waiting in the spool now.
	Pending int64
	// SpoolBytes is the size of the spool's segment files now.
	SpoolBytes int64
}

// Metric names of the exporter's counters. They are the exporter's own;
// the attribute and span names it reads come from internal/telemetry.
const (
	metricExported = "passport.audit.spans.exported"
	metricSpooled  = "passport.audit.spans.spooled"
	metricResent   = "passport.audit.spans.resent"
	metricDropped  = "passport.audit.spans.dropped"
	metricRejected = "passport.audit.spans.rejected"
	metricFiltered = "passport.audit.spans.filtered"
	metricRefused  = "passport.audit.spans.refused"
	metricFailed   = "passport.audit.spans.failed"
	metricTorn     = "passport.audit.spool.torn_records"
)

// counter is one count of Stats and its OpenTelemetry counter.
type counter struct {
	n atomic.Int64
	m metric.Int64Counter // nil when the meter refused to create it
}

func (c *counter) add(n int64) {
	if n <= 0 {
		return
	}
	c.n.Add(n)
	if c.m != nil {
		c.m.Add(context.Background(), n)
	}
}

// counters are the counts of an Exporter.
type counters struct {
	exported, spooled, resent, dropped, rejected, filtered, refused, failed, torn counter
}

// newCounters creates the counters on a meter of mp. A counter the meter
// cannot create is counted in Stats only.
func newCounters(mp metric.MeterProvider) *counters {
	meter := mp.Meter(telemetry.ScopeName+"/audit", metric.WithInstrumentationVersion(telemetry.Version))
	c := &counters{}
	for _, d := range []struct {
		c    *counter
		name string
		unit string
		desc string
	}{
		{&c.exported, metricExported, "{span}", "Spans the registry accepted from ExportSpans."},
		{&c.spooled, metricSpooled, "{span}", "Spans written to the durable spool."},
		{&c.resent, metricResent, "{span}", "Spooled spans the registry accepted later."},
		{&c.dropped, metricDropped, "{span}", "Spans dropped because the spool was full."},
		{&c.rejected, metricRejected, "{span}", "Spans the registry refused."},
		{&c.filtered, metricFiltered, "{span}", "Spans not sent by design (operation filter, missing ids)."},
		{&c.refused, metricRefused, "{span}", "Spans refused because their agent id is not the token's app id."},
		{&c.failed, metricFailed, "{span}", "Spans whose delivery failed with no spool."},
		{&c.torn, metricTorn, "{record}", "Torn or corrupt spool records skipped."},
	} {
		m, err := meter.Int64Counter(d.name, metric.WithUnit(d.unit), metric.WithDescription(d.desc))
		if err == nil {
			d.c.m = m
		}
	}
	return c
}

// Stats returns a snapshot of the exporter's counts. It is safe for
// concurrent use, also after Shutdown.
func (e *Exporter) Stats() Stats {
	s := Stats{
		Exported:    e.stats.exported.n.Load(),
		Spooled:     e.stats.spooled.n.Load(),
		Resent:      e.stats.resent.n.Load(),
		Dropped:     e.stats.dropped.n.Load(),
		Rejected:    e.stats.rejected.n.Load(),
		Filtered:    e.stats.filtered.n.Load(),
		Refused:     e.stats.refused.n.Load(),
		Failed:      e.stats.failed.n.Load(),
		TornRecords: e.stats.torn.n.Load(),
	}
	if e.spool != nil {
		s.Pending, s.SpoolBytes = e.spool.usage()
	}
	return s
}
