package credentials_test

import (
	"context"
	"fmt"
	"log"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

// A confidential client gets an app-only token with a client secret, and
// serves the second call from its cache.
func ExampleClient() {
	// A local authority stands in for Microsoft Entra ID.
	authority, err := agentidtest.StartAuthority()
	if err != nil {
		log.Fatal(err)
	}
	defer authority.Close()
	if err := authority.RegisterClient("orders-agent", agentidtest.WithSecret("s3cret")); err != nil {
		log.Fatal(err)
	}

	secret, err := credentials.NewSecret("s3cret")
	if err != nil {
		log.Fatal(err)
	}
	client, err := credentials.NewClient(
		credentials.Entra(authority.TenantID(), credentials.WithAuthorityHost(authority.URL())),
		"orders-agent", credentials.ClientSecret(secret))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	req := credentials.Request{Scopes: []string{"api://orders/.default"}}
	first, err := client.Token(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	second, err := client.Token(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("type:", first.Type())
	fmt.Println("second call served from cache:", first == second)
	fmt.Println("token requests sent:", authority.Requests("client_credentials"))
	// Output:
	// type: Bearer
	// second call served from cache: true
	// token requests sent: 1
}
