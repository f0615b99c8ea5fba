// Command quickstart is Passport's main job end to end, on the local
// authority that ships with it: no cloud account, no external service.
//
// It starts the authority in process, registers an agent's application
// with a client secret, gets a token for an API twice (the second from
// the cache), and prints the token's claims after verifying its signature
// against the authority's published keys.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

const (
	agentApp = "0a7c2c4e-5b1d-4c8e-9f3a-6d2b1e0f9a88" // the agent's application (client) id
	api      = "api://orders"                         // the API the agent calls
)

func run(ctx context.Context) error {
	// 1. A local, Entra-shaped authority (a real OAuth server on loopback).
	authority, err := agentidtest.StartAuthority()
	if err != nil {
		return fmt.Errorf("starting the local authority: %w", err)
	}
	defer authority.Close()
	if err := authority.RegisterClient(agentApp,
		agentidtest.WithSecret("local-dev-secret"),
		agentidtest.WithAppRoles(api, "Orders.Read")); err != nil {
		return fmt.Errorf("registering the agent: %w", err)
	}
	fmt.Println("authority:", authority.Issuer())

	// 2. The agent's credentials: the same code works against Entra by
	// dropping WithAuthorityHost.
	secret, err := credentials.NewSecret("local-dev-secret")
	if err != nil {
		return err
	}
	client, err := credentials.NewClient(
		credentials.Entra(authority.TenantID(), credentials.WithAuthorityHost(authority.URL())),
		agentApp, credentials.ClientSecret(secret))
	if err != nil {
		return err
	}
	defer client.Close()

	// 3. A token, twice: the second call is a cache hit.
	req := credentials.Request{Scopes: []string{api + "/.default"}}
	first, err := client.Token(ctx, req)
	if err != nil {
		return fmt.Errorf("first token: %w", err)
	}
	second, err := client.Token(ctx, req)
	if err != nil {
		return fmt.Errorf("second token: %w", err)
	}
	fmt.Println("token:", first) // prints without the secret value
	fmt.Printf("second call served from cache: %v (token requests sent: %d)\n",
		first == second, authority.Requests("client_credentials"))

	// 4. Verify the token against the authority's JWKS and show its claims.
	claims, err := verify(ctx, authority.JWKSURL(), first.AccessToken())
	if err != nil {
		return err
	}
	fmt.Println("verified claims:")
	fmt.Println(claims)
	return nil
}

func verify(ctx context.Context, jwksURL, token string) (string, error) {
	keys, err := jwk.Fetch(ctx, jwksURL)
	if err != nil {
		return "", fmt.Errorf("fetching the authority's keys: %w", err)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(keys, jws.WithRequireKid(true)))
	if err != nil {
		return "", fmt.Errorf("verifying the token: %w", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	out, err := json.MarshalIndent(claims, "  ", "  ")
	if err != nil {
		return "", err
	}
	return "  " + string(out), nil
}
