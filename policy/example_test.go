package policy_test

import (
	"context"
	"fmt"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/policy"
)

// An engine over a policy text decides two tool calls of an agent: one
// within the limit, one above it.
func Example() {
	ctx := context.Background()
	engine, err := policy.New(ctx, policy.FromString("tools.cedar", `
@id("support-refunds")
permit (principal in Blueprint::"support", action == Action::"invoke_tool", resource == Tool::"refund");

@id("refund-limit")
forbid (principal, action, resource == Tool::"refund")
when { context.args has amount && context.args.amount > 500 };
`), policy.WithArgument("amount", policy.ArgLong))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()

	self := policy.FromIdentity(agentid.Identity{AgentID: "agent-1", BlueprintID: "support", Kind: agentid.Autonomous}, nil)
	for _, amount := range []int{120, 900} {
		d, err := engine.Decide(ctx, policy.Request{
			Subject:  self,
			Action:   policy.InvokeTool,
			Resource: policy.Tool("refund"),
			Args:     map[string]any{"amount": amount},
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("refund %d: %v\n", amount, d)
	}
	// Output:
	// refund 120: allow by [support-refunds]
	// refund 900: deny by [refund-limit]
}

// A policy that does not validate against the schema is refused with its
// file, line and reason.
func ExampleLoadError() {
	_, err := policy.New(context.Background(), policy.FromString("tools.cedar", `
permit (principal, action == Action::"invoke_tool", resource);
forbid (principal, action, resource) when { principal.risk == "high" };
`))
	fmt.Println(err)
	// Output:
	// policy: tools.cedar:3:1: policy "tools.cedar:3": does not validate against the schema: the types Long and String are not compatible
}
