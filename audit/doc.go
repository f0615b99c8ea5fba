// Package audit will record agent activity (token acquisitions, policy
// decisions, tool calls, agent invocations) as OpenTelemetry spans and
// report them to an agent registry through a durable spool.
//
// It is a placeholder in this version of the module: nothing is exported
// yet.
package audit
