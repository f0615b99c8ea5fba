// Command tool-policy shows local policy decisions before an agent calls
// its tools: an agent with three tools, guarded by Cedar policies.
//
// The enforced policies (tools.cedar) let agents of the support
// blueprint use the support tools, keep agents at risk away from
// high-risk tools, and limit emails to 3 a minute with a session
// counter. A policy on trial (trial.cedar) runs in report-only mode: it
// is decided and reported, but never refuses a call. The agent makes
// six calls, and each decision is printed with the policies behind it:
//
//   - lookup_order is allowed;
//   - send_email to a customer goes ahead, but the trial policy would
//     deny it (report-only);
//   - two more emails go ahead, and the fourth is denied by the rate
//     limit;
//   - the registry raises the agent's risk, and issue_refund, a
//     high-risk tool, is denied.
//
// Run it from the root of the module:
//
//	go run ./examples/tool-policy
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

var (
	//go:embed tools.cedar
	toolsPolicies string
	//go:embed trial.cedar
	trialPolicies string
)

// out is where the program writes; tests replace it.
var out io.Writer = os.Stdout

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "tool-policy:", err)
		os.Exit(1)
	}
}

type lookupArgs struct {
	Order string `json:"order"`
}

type emailArgs struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
}

type refundArgs struct {
	Order  string `json:"order"`
	Amount int    `json:"amount"`
}

func run(ctx context.Context) error {
	// 1. The policy sets: enforced, and on trial in report-only mode. Both
	// declare the tool arguments their policies read.
	args := []policy.Option{
		policy.WithArgument("to", policy.ArgString),
		policy.WithArgument("amount", policy.ArgLong),
	}
	enforced, err := policy.New(ctx, policy.FromString("tools.cedar", toolsPolicies),
		append(args, policy.WithRateCounter("calls_per_minute", time.Minute))...)
	if err != nil {
		return fmt.Errorf("loading the enforced policies: %w", err)
	}
	defer enforced.Close()
	trial, err := policy.New(ctx, policy.FromString("trial.cedar", trialPolicies),
		append(args, policy.WithMode(policy.ReportOnly))...)
	if err != nil {
		return fmt.Errorf("loading the trial policies: %w", err)
	}
	defer trial.Close()

	// 2. The decider of the tools: both sets, each decision printed.
	both := policy.All(enforced, trial)
	printed := policy.DeciderFunc(func(ctx context.Context, req policy.Request) (policy.Decision, error) {
		d, err := both.Decide(ctx, req)
		if err == nil {
			fmt.Fprintf(out, "  decision: %v\n", d)
		}
		return d, err
	})

	// 3. The agent's three tools, guarded. Tools carry a risk level and
	// the group the policies grant.
	tool := func(name string, risk policy.Risk) policy.Resource {
		r := policy.Tool(name)
		r.Risk, r.Groups = risk, []string{"support-tools"}
		return r
	}
	lookupOrder := policy.Guard(printed, tool("lookup_order", policy.RiskLow),
		func(_ context.Context, a lookupArgs) (string, error) { return "order " + a.Order + ": shipped", nil })
	sendEmail := policy.Guard(printed, tool("send_email", policy.RiskMedium),
		func(_ context.Context, a emailArgs) (string, error) { return "email sent to " + a.To, nil })
	issueRefund := policy.Guard(printed, tool("issue_refund", policy.RiskHigh),
		func(_ context.Context, a refundArgs) (string, error) {
			return fmt.Sprintf("refunded %d on %s", a.Amount, a.Order), nil
		})

	// 4. The agent: its own identity, as the policies see it.
	self := agentid.Identity{
		TenantID:    "contoso",
		AgentID:     "support-agent-7",
		BlueprintID: "support",
		Name:        "Support agent",
		Kind:        agentid.Autonomous,
		Sponsors:    []string{"alice@contoso.com"},
	}
	subject := policy.FromIdentity(self, nil)
	subject.Session = "conversation-42"
	ctx = policy.NewContext(ctx, subject)

	show := func(call string, result string, err error) error {
		var denied *policy.DeniedError
		switch {
		case errors.As(err, &denied):
			fmt.Fprintf(out, "  %s: refused (%s)\n", call, strings.Join(denied.Decision.Reasons, ", "))
			return nil
		case err != nil:
			return fmt.Errorf("%s: %w", call, err)
		}
		fmt.Fprintf(out, "  %s: %s\n", call, result)
		return nil
	}

	fmt.Fprintln(out, "1. lookup_order, allowed:")
	r, err := lookupOrder(ctx, lookupArgs{Order: "o-1001"})
	if err := show("lookup_order", r, err); err != nil {
		return err
	}

	fmt.Fprintln(out, "2. send_email to a customer, report-only:")
	r, err = sendEmail(ctx, emailArgs{To: "customer@example.com", Subject: "Your refund"})
	if err := show("send_email", r, err); err != nil {
		return err
	}

	fmt.Fprintln(out, "3. three more emails, rate-limited:")
	for i := range 3 {
		r, err = sendEmail(ctx, emailArgs{To: "team@contoso.com", Subject: fmt.Sprint("Update ", i+1)})
		if err := show("send_email", r, err); err != nil {
			return err
		}
	}

	fmt.Fprintln(out, "4. the registry raises the agent's risk; issue_refund, denied:")
	subject.Agent.Risk = policy.RiskMedium
	ctx = policy.NewContext(ctx, subject)
	r, err = issueRefund(ctx, refundArgs{Order: "o-1001", Amount: 120})
	return show("issue_refund", r, err)
}
