package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agentpassport/passport/policy"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		want       policy.LoadError
		wantReason string
	}{
		{
			name: "syntax error",
			text: "permit (principal, action, resource)\nwhen { 1 + };",
			want: policy.LoadError{File: "bad.cedar", Line: 2, Column: 13}, wantReason: "syntax error",
		},
		{
			name: "unterminated string",
			text: "\n\npermit (principal == Agent::\"x, action, resource);",
			want: policy.LoadError{File: "bad.cedar", Line: 3, Column: 29}, wantReason: "syntax error",
		},
		{
			name: "unknown action",
			text: "permit (principal, action, resource);\n\n  forbid (principal, action == Action::\"delete\", resource);",
			want: policy.LoadError{File: "bad.cedar", Line: 3, Column: 3, PolicyID: "bad.cedar:3"}, wantReason: "unrecognized action",
		},
		{
			name: "undeclared argument",
			text: "@id(\"limit\")\nforbid (principal, action, resource) when { context.args.amount > 5 };",
			want: policy.LoadError{File: "bad.cedar", Line: 1, Column: 1, PolicyID: "limit"}, wantReason: "does not validate",
		},
		{
			name: "wrong type",
			text: "forbid (principal, action, resource) when { principal.risk == \"high\" };",
			want: policy.LoadError{File: "bad.cedar", Line: 1, Column: 1, PolicyID: "bad.cedar:1"}, wantReason: "does not validate",
		},
		{
			name: "optional attribute without has",
			text: "forbid (principal, action, resource) when { context.source_ip.isLoopback() };",
			want: policy.LoadError{File: "bad.cedar", Line: 1, Column: 1, PolicyID: "bad.cedar:1"}, wantReason: "optional attribute",
		},
		{
			name: "resource type the action does not apply to",
			text: "permit (principal, action == Action::\"invoke_tool\", resource == Api::\"api://orders\");",
			want: policy.LoadError{File: "bad.cedar", Line: 1, Column: 1, PolicyID: "bad.cedar:1"}, wantReason: "does not validate",
		},
		{
			name: "duplicate id",
			text: "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);",
			want: policy.LoadError{File: "bad.cedar", Line: 2, Column: 1, PolicyID: "a"}, wantReason: "already taken",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.New(context.Background(), policy.FromString("bad.cedar", tt.text))
			var le *policy.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("New() error = %v, want a *LoadError", err)
			}
			if diff := cmp.Diff(tt.want, *le, cmpopts.IgnoreFields(policy.LoadError{}, "Reason")); diff != "" {
				t.Errorf("LoadError mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(le.Reason, tt.wantReason) {
				t.Errorf("LoadError.Reason = %q, want it to mention %q", le.Reason, tt.wantReason)
			}
			if !strings.HasPrefix(err.Error(), "policy: bad.cedar:") {
				t.Errorf("error = %q, want it to start with the file name", err)
			}
		})
	}
}

func TestLoadReportsEveryBadPolicy(t *testing.T) {
	src := policy.Sources(
		policy.FromString("a.cedar", "permit (principal, action, resource) when { context.nope };"),
		policy.FromString("b.cedar", "permit (principal, action, resource);\nforbid (principal, action, resource) when { principal.nope };"),
	)
	_, err := policy.New(context.Background(), src)
	var files []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var le *policy.LoadError
		if errors.As(e, &le) {
			files = append(files, le.File+":"+le.PolicyID)
		}
	}
	if diff := cmp.Diff([]string{"a.cedar:a.cedar:1", "b.cedar:b.cedar:2"}, files); diff != "" {
		t.Errorf("load errors mismatch (-want +got):\n%s", diff)
	}
}

func TestPolicyIDs(t *testing.T) {
	e := newEngine(t, "@id(\"named\")\npermit (principal, action, resource);\npermit (principal, action, resource); permit (principal, action, resource);")
	want := []string{"named", "test.cedar:3", "test.cedar:3:39"}
	if diff := cmp.Diff(want, e.PolicyIDs()); diff != "" {
		t.Errorf("PolicyIDs() mismatch (-want +got):\n%s", diff)
	}
}

func TestOptionsValidated(t *testing.T) {
	tests := []struct {
		name string
		opt  policy.Option
	}{
		{"argument not an identifier", policy.WithArgument("a-b", policy.ArgLong)},
		{"argument reserved word", policy.WithArgument("in", policy.ArgLong)},
		{"argument unknown type", policy.WithArgument("a", policy.ArgType(99))},
		{"rate without window", policy.WithRateCounter("r", 0)},
		{"total of an undeclared argument", policy.WithTotalCounter("t", "amount")},
		{"counter limits", policy.WithCounterLimits(0, 1)},
		{"session TTL", policy.WithSessionTTL(-1)},
		{"watch too fast", policy.WithWatch(1)},
		{"mode", policy.WithMode(policy.Mode(7))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := policy.New(context.Background(), policy.FromString("x.cedar", ""), tt.opt); err == nil {
				t.Errorf("New(%s) error = nil, want an error", tt.name)
			}
		})
	}
}

func TestSchemaIsGenerated(t *testing.T) {
	e := newEngine(t, "", policy.WithArgument("amount", policy.ArgLong), policy.WithArgument("tags", policy.ArgStrings),
		policy.WithRateCounter("per_minute", 60e9), policy.WithTotalCounter("spend", "amount"))
	for _, want := range []string{`"amount"?: Long`, `"tags"?: Set<String>`, `"per_minute": Long`, `"spend": Long`, "action invoke_tool"} {
		if !strings.Contains(e.Schema(), want) {
			t.Errorf("Schema() does not contain %q", want)
		}
	}
	if !strings.HasPrefix(e.Schema(), policy.BaseSchema()) {
		t.Error("Schema() does not start with BaseSchema()")
	}
}

// TestDocPolicies loads the policies the package documentation shows.
func TestDocPolicies(t *testing.T) {
	newEngine(t, `
// No agent at high risk calls anything.
forbid (principal, action, resource) when { principal.risk >= 3 };

// Agents of the support blueprint may refund, for a delegating user
// in finance, up to 500 per session and 10 a minute, from the office.
permit (principal in Blueprint::"support", action == Action::"invoke_tool",
	resource == Tool::"refund")
when {
	context has user && context.user in Group::"finance" &&
	context.args has amount && context.counters.spend <= 500 &&
	context.counters.calls_per_minute <= 10 &&
	context has source_ip && context.source_ip.isInRange(ip("10.0.0.0/8"))
};
`, policy.WithArgument("amount", policy.ArgLong),
		policy.WithRateCounter("calls_per_minute", 60e9),
		policy.WithTotalCounter("spend", "amount"))
}
