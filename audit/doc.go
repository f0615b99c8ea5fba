// Package audit records agent activity (agent invocations, tool calls,
// token acquisitions, policy decisions) as OpenTelemetry spans and
// reports them to an agent registry, or to any OTLP/HTTP endpoint,
// through a durable spool, so that nothing recorded is lost.
//
// A [Recorder] makes the spans, with the GenAI semantic conventions and
// the agent's identity. An [Exporter] is an OpenTelemetry SDK span
// exporter that sends them:
//
//	exp, err := audit.NewExporter("https://registry.example.com",
//		audit.WithTokenSource(agentCredentials, credentials.Request{Scopes: []string{"api://registry/.default"}}),
//		audit.WithSpool("/var/lib/orders-agent/audit", 256<<20))
//	if err != nil {
//		return err
//	}
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
//	defer tp.Shutdown(ctx) // flushes, then shuts the exporter down
//
// # Protocols
//
// Plain mode posts OTLP/HTTP (protobuf by default, or OTLP/JSON) to
// {endpoint}/v1/traces, as an OpenTelemetry Collector expects.
// [WithAgent365] speaks the Microsoft Agent 365 observability protocol:
// spans partitioned by tenant and agent, each partition posted to
// /observability/tenants/{tenantId}/otlp/agents/{agentId}/traces?api-version=1,
// only the operations that service accepts, and only for the agent the
// exporter's token was issued to. Bodies stay under 1 MiB (batches are
// split), spans under 250 KiB (their largest strings are truncated and
// marked), and a partialSuccess that rejected spans is an error.
//
// # Spool
//
// With [WithSpool], bodies the endpoint did not take are appended to a
// checksummed, size-bounded file spool, fsync'd one by one, and re-sent
// oldest first by a background goroutine, also after a restart. A torn
// or corrupt record (a crash mid-write, a flipped bit) is detected,
// skipped and counted. Spans are dropped only when the spool is full,
// and then counted: see [Stats]. A record may be delivered twice when
// the process dies between the endpoint's answer and the cursor write.
//
// Spool segment files are named spool-NNNNNNNNNNNNNNNN.log; each record
// is "PSR1", the payload length and the CRC-32C (Castagnoli) of length
// and payload, both big-endian 32-bit, then the payload: a version byte,
// the body's encoding, its span count, its path and partition, and the
// request body as posted. A file named cursor records the first record
// not yet delivered.
//
// # Redaction
//
// Tokens and secrets never leave the process: see [Exporter] for the
// keys and values that are replaced by [Redacted], and
// [WithRedactedAttributes] to add keys.
package audit
