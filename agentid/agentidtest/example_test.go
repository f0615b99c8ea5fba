package agentidtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/url"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// A program starts a local authority, registers a client, gets an app
// token with the client credentials grant and verifies the token against
// the authority's JWKS.
func ExampleStartAuthority() {
	a, err := agentidtest.StartAuthority(agentidtest.WithTenantID("contoso"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	err = a.RegisterClient("orders-agent",
		agentidtest.WithSecret("s3cret"),
		agentidtest.WithAppRoles("api://orders", "Orders.Read"))
	if err != nil {
		log.Fatal(err)
	}

	resp, err := a.HTTPClient().PostForm(a.TokenURL(), url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"orders-agent"},
		"client_secret": {"s3cret"},
		"scope":         {"api://orders/.default"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status, body.TokenType, body.ExpiresIn)

	keys, err := jwk.Fetch(context.Background(), a.JWKSURL(), jwk.WithHTTPClient(a.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(body.AccessToken),
		jwt.WithKeySet(keys), jwt.WithIssuer(a.Issuer()), jwt.WithAudience("api://orders"))
	if err != nil {
		log.Fatal(err)
	}
	var appID string
	var roles []any
	if err := tok.Get("appid", &appID); err != nil {
		log.Fatal(err)
	}
	if err := tok.Get("roles", &roles); err != nil {
		log.Fatal(err)
	}
	fmt.Println("appid:", appID)
	fmt.Println("roles:", roles)
	// Output:
	// 200 OK Bearer 3600
	// appid: orders-agent
	// roles: [Orders.Read]
}
