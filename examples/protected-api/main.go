// Command protected-api is the resource side of agent identity, end to
// end on the local authority: an HTTP API that only agents with the
// right app role may call, and an agent that calls it.
//
// It starts the authority in process and registers the agent's
// application with a client secret and the app role Orders.Read on the
// API. The API verifies every token with agentid.Verifier (through
// agentid.Middleware), requires the role (agentid.RequireRoles), serves
// its RFC 9728 protected resource metadata, and answers with who called.
// The agent calls it through credentials.Transport, which gets and
// caches its token; a call without a token shows the 401 challenge.
//
//	go run ./examples/protected-api
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "protected-api:", err)
		os.Exit(1)
	}
}

const (
	blueprintApp = "7d1c4b7e-2f5a-4c61-9d8e-1a2b3c4d5e6f" // the agent identity blueprint's application id
	agentApp     = "0a7c2c4e-5b1d-4c8e-9f3a-6d2b1e0f9a88" // the agent identity's application (client) id
	api          = "api://orders"                         // the API's application ID URI: the tokens' audience
	role         = "Orders.Read"                          // the app role the API requires
)

func run(ctx context.Context) error {
	// 1. A local, Entra-shaped authority, and the agent's registration.
	authority, err := agentidtest.StartAuthority()
	if err != nil {
		return fmt.Errorf("starting the local authority: %w", err)
	}
	defer authority.Close()
	if err := authority.RegisterBlueprint(blueprintApp, agentidtest.WithSecret("local-dev-secret")); err != nil {
		return fmt.Errorf("registering the blueprint: %w", err)
	}
	if err := authority.RegisterAgent(blueprintApp, agentApp, agentidtest.WithAgentAppRoles(api, role)); err != nil {
		return fmt.Errorf("registering the agent: %w", err)
	}

	// 2. The API: verify tokens of the authority for api://orders.
	verifier, err := agentid.NewVerifier(ctx, authority.Issuer(), agentid.WithAudience(api))
	if err != nil {
		return fmt.Errorf("creating the verifier: %w", err)
	}
	defer verifier.Close()
	mux := http.NewServeMux()
	server := httptest.NewServer(mux)
	defer server.Close()
	resource := server.URL // the API's resource identifier (RFC 9728)
	metadataURL := resource + agentid.WellKnownPath(resource)
	mux.Handle("GET "+agentid.WellKnownPath(resource), agentid.ProtectedResourceMetadata{
		Resource:             resource,
		AuthorizationServers: []string{authority.Issuer()},
		ScopesSupported:      []string{api + "/.default"},
		ResourceName:         "Orders API",
	})
	protect := agentid.Middleware(verifier, agentid.WithResourceMetadataURL(metadataURL))
	mux.Handle("GET /orders", protect(agentid.RequireRoles(role)(http.HandlerFunc(listOrders))))
	fmt.Println("API:", resource+"/orders", "accepting tokens of", authority.Issuer())

	// 3. The agent calls the API with its own token, through the
	// credentials RoundTripper: the blueprint's client gets the agent's
	// exchange token, the agent presents it for its own token.
	secret, err := credentials.NewSecret("local-dev-secret")
	if err != nil {
		return err
	}
	blueprint, err := credentials.NewClient(
		credentials.Entra(authority.TenantID(), credentials.WithAuthorityHost(authority.URL())),
		blueprintApp, credentials.ClientSecret(secret))
	if err != nil {
		return err
	}
	defer blueprint.Close()
	agent, err := credentials.NewAgentIdentity(blueprint, agentApp)
	if err != nil {
		return err
	}
	defer agent.Close()
	agentHTTP := &http.Client{
		Timeout:   10 * time.Second,
		Transport: credentials.NewTransport(agent, credentials.Request{Scopes: []string{api + "/.default"}}),
	}
	status, _, body, err := get(ctx, agentHTTP, resource+"/orders")
	if err != nil {
		return fmt.Errorf("calling the API as the agent: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("calling the API as the agent: %d %s", status, body)
	}
	fmt.Println("agent call:", status, strings.TrimSpace(body))

	// 4. A call without a token: 401, and a challenge that points to the
	// API's metadata, which names the authorization server.
	anonymous := &http.Client{Timeout: 10 * time.Second}
	status, header, _, err := get(ctx, anonymous, resource+"/orders")
	if err != nil {
		return fmt.Errorf("calling the API without a token: %w", err)
	}
	if status != http.StatusUnauthorized {
		return fmt.Errorf("calling the API without a token: got %d, want 401", status)
	}
	fmt.Println("anonymous call:", status, "WWW-Authenticate:", header.Get("WWW-Authenticate"))
	status, _, body, err = get(ctx, anonymous, metadataURL)
	if err != nil || status != http.StatusOK {
		return errors.Join(fmt.Errorf("fetching the resource metadata: status %d", status), err)
	}
	fmt.Println("resource metadata:", strings.TrimSpace(body))
	return nil
}

// listOrders answers with who called, as the middleware verified it.
func listOrders(w http.ResponseWriter, r *http.Request) {
	p, _ := agentid.FromContext(r.Context()) // always there behind Middleware
	fmt.Printf("API: %s %s called by agent %s (kind %s, roles %v, tenant %s)\n",
		r.Method, r.URL.Path, p.AgentID, p.Kind, p.Roles, p.TenantID)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"caller": map[string]any{
			"agent_id":  p.AgentID,
			"kind":      p.Kind,
			"roles":     p.Roles,
			"tenant_id": p.TenantID,
		},
		"orders": []string{"order-1001", "order-1002"},
	})
}

// get sends a GET and returns the status, headers and body (at most 64 KiB).
func get(ctx context.Context, hc *http.Client, url string) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, nil, "", err
	}
	return resp.StatusCode, resp.Header, string(body), nil
}
