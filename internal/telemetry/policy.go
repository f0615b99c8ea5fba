package telemetry

// Policy decision attribute keys (package policy). A decision is a span
// "policy_decision {action}", child of the span of the call it decides,
// and an event named OpPolicyDecision on that span, with these
// attributes; never an argument value.
const (
	// PolicyDecision is the effective outcome: "allow" or "deny".
	PolicyDecision = "passport.policy.decision"
	// PolicyWouldDeny is whether the policies deny the request; in
	// report-only mode the request goes ahead anyway.
	PolicyWouldDeny = "passport.policy.would_deny"
	// PolicyIDs are the ids of the policies that determined the decision.
	PolicyIDs = "passport.policy.ids"
	// PolicyMode is "enforce" or "report_only".
	PolicyMode = "passport.policy.mode"
	// PolicyAction is the Cedar action, e.g. "invoke_tool".
	PolicyAction = "passport.policy.action"
	// PolicyResource is the Cedar resource, e.g. `Tool::"refund"`.
	PolicyResource = "passport.policy.resource"
	// PolicyErrors are the ids of the policies that failed to evaluate.
	PolicyErrors = "passport.policy.errors"
)
