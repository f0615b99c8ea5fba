package agentidtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// An agent identity gets an autonomous token in two legs: its blueprint
// gets an exchange token for it with fmi_path, then the agent presents
// that token as its client assertion.
func ExampleAuthority_RegisterAgent() {
	a, err := agentidtest.StartAuthority(agentidtest.WithTenantID("contoso"))
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	if err := a.RegisterBlueprint("orders-blueprint", agentidtest.WithSecret("s3cret")); err != nil {
		log.Fatal(err)
	}
	if err := a.RegisterAgent("orders-blueprint", "orders-agent-7",
		agentidtest.WithAgentAppRoles("api://orders", "Orders.Read")); err != nil {
		log.Fatal(err)
	}

	// Leg 1: the blueprint, with its own credential, gets T1.
	t1 := postForm(a, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"orders-blueprint"},
		"client_secret": {"s3cret"},
		"scope":         {"api://AzureADTokenExchange/.default"},
		"fmi_path":      {"orders-agent-7"},
	})
	// Leg 2: the agent authenticates with T1.
	access := postForm(a, url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {"orders-agent-7"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {t1},
		"scope":                 {"api://orders/.default"},
	})

	keys, err := jwk.Fetch(context.Background(), a.JWKSURL(), jwk.WithHTTPClient(a.HTTPClient()))
	if err != nil {
		log.Fatal(err)
	}
	tok, err := jwt.Parse([]byte(access), jwt.WithKeySet(keys), jwt.WithIssuer(a.Issuer()), jwt.WithAudience("api://orders"))
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"azp", "idtyp", "xms_par_app_azp", "xms_act_fct"} {
		var v string
		if err := tok.Get(name, &v); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", name, v)
	}
	// Output:
	// azp: orders-agent-7
	// idtyp: app
	// xms_par_app_azp: orders-blueprint
	// xms_act_fct: 11
}

// postForm posts form to the token endpoint of a and returns the access
// token, exiting on any failure.
func postForm(a *agentidtest.Authority, form url.Values) string {
	resp, err := a.HTTPClient().PostForm(a.TokenURL(), form)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken      string `json:"access_token"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		log.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("token request: %s: %s", resp.Status, body.ErrorDescription)
	}
	return body.AccessToken
}
