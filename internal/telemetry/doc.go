// Package telemetry holds the names the module's instrumentation uses:
// its instrumentation scope, the OpenTelemetry GenAI semantic-convention
// attribute keys and operation names, and the identity, token and policy
// attribute keys this module adds. Every span and attribute the module
// emits takes its name from here, so that exporters, redaction and tests
// agree on them.
package telemetry
