// Package policy will hold local policy decisions taken before an agent
// acts: the Decider contract, the Cedar engine over the agent entity
// model, report-only mode, policy sources and enforcement helpers.
//
// It is a placeholder in this version of the module: nothing is exported
// yet.
package policy
