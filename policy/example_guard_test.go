package policy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

type transferArgs struct {
	To     string `json:"to"`
	Amount int    `json:"amount"`
}

// Guard wraps a tool so that each call is decided first; in report-only
// mode the call goes ahead and the decision says it would be denied.
func ExampleGuard() {
	ctx := context.Background()
	const policies = `
permit (principal, action == Action::"invoke_tool", resource == Tool::"transfer");
@id("transfer-limit")
forbid (principal, action, resource == Tool::"transfer") when { context.args has amount && context.args.amount > 100 };
`
	transfer := func(_ context.Context, a transferArgs) (string, error) {
		return fmt.Sprintf("sent %d to %s", a.Amount, a.To), nil
	}
	self := policy.FromIdentity(agentid.Identity{AgentID: "agent-1", Kind: agentid.Autonomous}, nil)
	ctx = policy.NewContext(ctx, self)

	for _, mode := range []policy.Mode{policy.Enforce, policy.ReportOnly} {
		engine, err := policy.New(ctx, policy.FromString("transfer.cedar", policies),
			policy.WithArgument("amount", policy.ArgLong), policy.WithMode(mode),
			policy.WithObserver(func(_ context.Context, _ policy.Request, d policy.Decision) { fmt.Println("  decision:", d) }))
		if err != nil {
			fmt.Println(err)
			return
		}
		guarded := policy.Guard(engine, policy.Tool("transfer"), transfer)
		fmt.Println(mode)
		out, err := guarded(ctx, transferArgs{To: "bob", Amount: 250})
		switch {
		case errors.Is(err, policy.ErrDenied):
			fmt.Println("  refused:", err)
		case err != nil:
			fmt.Println("  error:", err)
		default:
			fmt.Println("  tool:", out)
		}
		engine.Close()
	}
	// Output:
	// enforce
	//   decision: deny by [transfer-limit]
	//   refused: policy: invoke_tool on Tool::"transfer" denied by transfer-limit
	// report_only
	//   decision: allow (report_only, would deny) by [transfer-limit]
	//   tool: sent 250 to bob
}
