package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

const (
	blueprintID  = "b1b1b1b1-0000-4000-8000-000000000001"
	agentID      = "a9a9a9a9-0000-4000-8000-000000000002"
	userOID      = "0e0e0e0e-0000-4000-8000-000000000003"
	userUPN      = "ada@contoso.example"
	agentUserOID = "0f0f0f0f-0000-4000-8000-000000000004"
	agentUserUPN = "orders-agent@contoso.example"

	grantJWTBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantExchange  = "urn:ietf:params:oauth:grant-type:token-exchange"
	exchangeScope  = "api://AzureADTokenExchange/.default"
)

// agentEnv is a local authority with a blueprint, one of its agents, a
// user and an agent user, and the SDK objects for them.
type agentEnv struct {
	a         *agentidtest.Authority
	blueprint *credentials.Client
	agent     *credentials.AgentIdentity
}

func newAgentEnv(t testing.TB, aopts []agentidtest.Option, copts ...credentials.Option) *agentEnv {
	t.Helper()
	a := agentidtest.NewAuthority(t, aopts...)
	must(t, a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(testSecret)))
	must(t, a.RegisterAgent(blueprintID, agentID))
	must(t, a.RegisterUser(userOID, userUPN))
	must(t, a.RegisterAgentUser(agentID, agentUserOID, agentUserUPN))
	bp, err := credentials.NewClient(entraAt(a), blueprintID, credentials.ClientSecret(mustSecret(t, testSecret)), copts...)
	must(t, err)
	t.Cleanup(func() { bp.Close() })
	agent, err := credentials.NewAgentIdentity(bp, agentID, copts...)
	must(t, err)
	t.Cleanup(func() { agent.Close() })
	return &agentEnv{a: a, blueprint: bp, agent: agent}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// userToken is the user's access token for the blueprint.
func (e *agentEnv) userToken(t testing.TB) string {
	t.Helper()
	tok, err := e.a.UserToken(userOID, blueprintID, "access_as_user")
	must(t, err)
	return tok
}

// claimsOf verifies token against the authority's JWKS, fetched over
// HTTP, and returns its claims.
func claimsOf(t testing.TB, a *agentidtest.Authority, token string) map[string]any {
	t.Helper()
	keys, err := jwk.Fetch(context.Background(), a.JWKSURL())
	must(t, err)
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(keys, jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("the token does not verify against the authority's keys: %v", err)
	}
	var claims map[string]any
	must(t, json.Unmarshal(payload, &claims))
	return claims
}

// requestsWhere returns the token requests whose form satisfies keep.
func requestsWhere(a *agentidtest.Authority, keep func(agentidtest.TokenRequest) bool) []agentidtest.TokenRequest {
	var out []agentidtest.TokenRequest
	for _, r := range a.TokenRequests() {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func isLeg1(r agentidtest.TokenRequest) bool { return r.Form.Get("fmi_path") != "" }
func isLeg2(r agentidtest.TokenRequest) bool {
	return r.Form.Get("grant_type") == "client_credentials" && r.Form.Get("fmi_path") == ""
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func errorsAs(err error, target any) bool { return errors.As(err, target) }
