package policy_test

import (
	"context"
	"errors"
	"testing"

	cedar "github.com/cedar-policy/cedar-go"

	"github.com/agentpassport/passport/policy"
)

// FuzzLoadPolicies gives arbitrary text to the loader: it never panics,
// it accepts only text that cedar-go parses (and whose policies then
// validate, which New checks), and every refusal is a *LoadError with a
// position.
func FuzzLoadPolicies(f *testing.F) {
	for _, s := range []string{
		"",
		modelPolicies,
		`permit (principal, action, resource);`,
		`@id("x") forbid (principal in Group::"g", action in [Action::"call_api"], resource is Api in Group::"h") unless { context.risk < 2 };`,
		`permit (principal, action == Action::"invoke_tool", resource) when { context.args has amount && context.args.amount > 3 };`,
		`permit (principal, action, resource) when { context.time.toTime() < duration("8h") };`,
		`forbid (principal, action, resource) when { context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8")) };`,
		`permit (principal, action, resource) when { 1 + };`,
		"permit (principal == Agent::\"\x00\", action, resource);",
		`permit (principal, action, resource) when { "\u{10FFFF}" like "*" };`,
		`/* unterminated`,
	} {
		f.Add(s)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, text string) {
		e, err := policy.New(ctx, policy.FromString("fuzz.cedar", text), policy.WithArgument("amount", policy.ArgLong))
		if err == nil {
			defer e.Close()
			if _, perr := cedar.NewPolicyListFromBytes("fuzz.cedar", []byte(text)); perr != nil {
				t.Fatalf("New accepted text cedar-go does not parse: %v", perr)
			}
			return
		}
		var le *policy.LoadError
		if !errors.As(err, &le) {
			t.Fatalf("New() error = %v, want a *LoadError", err)
		}
		if le.File != "fuzz.cedar" || le.Line < 1 || le.Column < 1 || le.Reason == "" {
			t.Fatalf("LoadError %+v has no position or reason", le)
		}
	})
}
