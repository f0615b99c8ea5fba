package agentid_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
)

// A resource verifies the token an agent sends, and learns who is
// calling. The local authority stands in for Microsoft Entra ID here; it
// mints a token with the claims Entra gives an autonomous agent.
func ExampleVerifier() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	authority, err := agentidtest.StartAuthority(agentidtest.WithTenantID("contoso"))
	if err != nil {
		log.Fatal(err)
	}
	defer authority.Close()

	v, err := agentid.NewVerifier(ctx, authority.Issuer(), agentid.WithAudience("api://orders"))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	now := time.Now()
	token, err := authority.IssueToken(map[string]any{
		"iss": authority.Issuer(), "aud": "api://orders", "tid": "contoso",
		"iat": now, "nbf": now, "exp": now.Add(time.Hour),
		"idtyp": "app", "azp": "orders-agent", "sub": "orders-agent-sp",
		"xms_par_app_azp": "orders-blueprint", "xms_act_fct": "11",
		"roles": []string{"Orders.Read"},
	})
	if err != nil {
		log.Fatal(err)
	}

	p, err := v.Verify(ctx, token)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("agent:", p.AgentID)
	fmt.Println("blueprint:", p.BlueprintID)
	fmt.Println("kind:", p.Kind)
	fmt.Println("roles:", p.Roles)

	// A token for another API is refused, and the error says why.
	other, err := authority.IssueToken(map[string]any{
		"iss": authority.Issuer(), "aud": "api://payments", "exp": now.Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = v.Verify(ctx, other)
	var ve *agentid.VerifyError
	if errors.As(err, &ve) {
		fmt.Println("refused:", ve.Check, errors.Is(err, agentid.ErrWrongAudience))
	}
	// Output:
	// agent: orders-agent
	// blueprint: orders-blueprint
	// kind: autonomous
	// roles: [Orders.Read]
	// refused: audience true
}
