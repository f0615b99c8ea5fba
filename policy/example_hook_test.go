package policy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
	"github.com/agentpassport/passport/policy"
)

// TokenHook checks acquire_token before the credentials package sends a
// token request: a denied token is never asked for.
func ExampleTokenHook() {
	ctx := context.Background()
	authority, err := agentidtest.StartAuthority()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer authority.Close()
	if err := authority.RegisterClient("agent-1", agentidtest.WithSecret("local-dev-secret")); err != nil {
		fmt.Println(err)
		return
	}
	engine, err := policy.New(ctx, policy.FromString("tokens.cedar", `
@id("orders-only")
permit (principal, action == Action::"acquire_token", resource == Api::"api://orders");
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()

	self := agentid.Identity{TenantID: authority.TenantID(), AgentID: "agent-1", Kind: agentid.Autonomous}
	hook := policy.TokenHook(engine, self)
	secret, _ := credentials.NewSecret("local-dev-secret")
	source, err := credentials.NewClient(
		credentials.Entra(authority.TenantID(), credentials.WithAuthorityHost(authority.URL())),
		self.AgentID, credentials.ClientSecret(secret),
		credentials.WithPreAcquire(func(ctx context.Context, r credentials.Request) error { return hook(ctx, r.Resource, r.Scopes) }))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer source.Close()

	for _, scope := range []string{"api://orders/.default", "api://payroll/.default"} {
		_, err := source.Token(ctx, credentials.Request{Scopes: []string{scope}})
		fmt.Printf("%s: denied %v, token requests so far %d\n", scope, errors.Is(err, policy.ErrDenied), authority.Requests(""))
	}
	// Output:
	// api://orders/.default: denied false, token requests so far 1
	// api://payroll/.default: denied true, token requests so far 1
}
