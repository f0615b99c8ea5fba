package agentidtest_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
)

// The directory of the agent world that newWorld builds.
const (
	homeTenant = "tenant-1"

	blueprintID     = "blueprint-1" // parent of agent-1 and agent-2
	blueprintSecret = "bp1-secret"
	blueprintOID    = "b0000000-0000-4000-8000-000000000001"
	agentID         = "agent-1"
	agentOID        = "a0000000-0000-4000-8000-000000000001"
	siblingID       = "agent-2" // the other agent of blueprint-1
	siblingOID      = "a0000000-0000-4000-8000-000000000002"

	otherBlueprintID     = "blueprint-2" // parent of agent-3
	otherBlueprintSecret = "bp2-secret"
	otherAgentID         = "agent-3"
	otherAgentOID        = "a0000000-0000-4000-8000-000000000003"

	singleID     = "single-1" // a single-instance agent: blueprint and agent
	singleSecret = "single-secret"
	singleOID    = "a0000000-0000-4000-8000-000000000004"

	plainID     = "plain-app" // a client that is no agent
	plainSecret = "plain-secret"
	plainOID    = "c0000000-0000-4000-8000-000000000001"

	userOID      = "u0000000-0000-4000-8000-000000000001" // alice, a human user
	userUPN      = "alice@contoso.example"
	agentUserOID = "u0000000-0000-4000-8000-000000000002" // the agent user of agent-1
	agentUserUPN = "agent-1@contoso.example"
	agent2UserID = "u0000000-0000-4000-8000-000000000003" // the agent user of agent-2
	agent2UPN    = "agent-2@contoso.example"

	exchangeScope = "api://AzureADTokenExchange/.default"
)

// testClock is a clock a test moves forward.
type testClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// world is an Authority with blueprints, agents and users registered.
type world struct {
	a     *agentidtest.Authority
	clock *testClock
}

// newWorld starts an Authority for tenant-1 with a test clock and the
// directory described by the constants above.
func newWorld(t testing.TB, opts ...agentidtest.Option) *world {
	t.Helper()
	clock := &testClock{now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	opts = append([]agentidtest.Option{agentidtest.WithTenantID(homeTenant), agentidtest.WithClock(clock.Now)}, opts...)
	a := agentidtest.NewAuthority(t, opts...)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(blueprintSecret), agentidtest.WithObjectID(blueprintOID)))
	must(a.RegisterAgent(blueprintID, agentID, agentidtest.WithAgentObjectID(agentOID),
		agentidtest.WithAgentAppRoles("api://orders", "Orders.Read")))
	must(a.RegisterAgent(blueprintID, siblingID, agentidtest.WithAgentObjectID(siblingOID)))
	must(a.RegisterBlueprint(otherBlueprintID, agentidtest.WithSecret(otherBlueprintSecret)))
	must(a.RegisterAgent(otherBlueprintID, otherAgentID, agentidtest.WithAgentObjectID(otherAgentOID)))
	must(a.RegisterBlueprint(singleID, agentidtest.WithSecret(singleSecret)))
	must(a.RegisterAgent(singleID, singleID, agentidtest.WithAgentObjectID(singleOID),
		agentidtest.WithAgentAppRoles("api://orders", "Orders.Write")))
	must(a.RegisterClient(plainID, agentidtest.WithSecret(plainSecret), agentidtest.WithObjectID(plainOID)))
	must(a.RegisterUser(userOID, userUPN))
	must(a.RegisterAgentUser(agentID, agentUserOID, agentUserUPN))
	must(a.RegisterAgentUser(siblingID, agent2UserID, agent2UPN))
	return &world{a: a, clock: clock}
}

// post posts form to the token endpoint of the default tenant.
func (w *world) post(t testing.TB, form url.Values) result {
	t.Helper()
	return postToken(t, w.a, form, nil)
}

// mustToken posts form and fails the test unless the answer is 200.
func (w *world) mustToken(t testing.TB, form url.Values) tokenBody {
	t.Helper()
	r := w.post(t, form)
	if r.status != http.StatusOK {
		t.Fatalf("token request (grant %s): status %d, want 200 (%s)", form.Get("grant_type"), r.status, r.body.ErrorDescription)
	}
	return r.body
}

// t1 gets the exchange token of agent from its blueprint, given by id and
// secret (leg 1).
func (w *world) t1(t testing.TB, blueprint, secret, agent string) string {
	t.Helper()
	return w.mustToken(t, fmiForm(blueprint, secret, agent)).AccessToken
}

// t2 gets the own exchange token of agent-1 or agent-2 (leg 2 for the
// token exchange audience).
func (w *world) t2(t testing.TB, agent string) string {
	t.Helper()
	return w.mustToken(t, agentForm(agent, w.t1(t, blueprintID, blueprintSecret, agent), exchangeScope)).AccessToken
}

// userToken mints alice's token for aud.
func (w *world) userToken(t testing.TB, aud string, scopes ...string) string {
	t.Helper()
	tok, err := w.a.UserToken(userOID, aud, scopes...)
	if err != nil {
		t.Fatalf("UserToken(%q, %q) = %v", userOID, aud, err)
	}
	return tok
}

// issue signs claims with the Authority's key, failing the test on error.
func (w *world) issue(t testing.TB, claims map[string]any) string {
	t.Helper()
	tok, err := w.a.IssueToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fmiForm is a leg-1 request: blueprint asks for agent's exchange token.
func fmiForm(blueprint, secret, agent string) url.Values {
	f := secretForm(blueprint, secret, exchangeScope)
	f.Set("fmi_path", agent)
	return f
}

// agentForm is a leg-2 request: agent authenticates with t1.
func agentForm(agent, t1, scope string) url.Values {
	return assertionForm(agent, t1, scope)
}

// oboForm is an Entra OBO request of agent with t1 for the user's token.
func oboForm(agent, t1, userToken, scope string) url.Values {
	return url.Values{
		"grant_type":            {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"client_id":             {agent},
		"client_assertion_type": {jwtBearer},
		"client_assertion":      {t1},
		"assertion":             {userToken},
		"requested_token_use":   {"on_behalf_of"},
		"scope":                 {scope},
	}
}

// userFICForm is an agent user request of agent with t1 and t2 for the
// user named by user_id.
func userFICForm(agent, t1, t2, userID, scope string) url.Values {
	return url.Values{
		"grant_type":                         {"user_fic"},
		"client_id":                          {agent},
		"client_assertion_type":              {jwtBearer},
		"client_assertion":                   {t1},
		"user_federated_identity_credential": {t2},
		"user_id":                            {userID},
		"scope":                              {scope},
		"client_info":                        {"1"},
	}
}

// accessVolatile are the claims of an access token whose values vary.
var accessVolatile = []string{"iat", "nbf", "exp", "jti"}

// claimsOf verifies tok against the JWKS fetched over HTTP and returns
// its claims without the volatile ones, after checking that each of them
// is present.
func claimsOf(t testing.TB, a *agentidtest.Authority, tok string, volatile ...string) map[string]any {
	t.Helper()
	claims, err := verifiedClaims(t, a, tok)
	if err != nil {
		t.Fatalf("verifying a token against the JWKS: %v", err)
	}
	for _, name := range volatile {
		if _, ok := claims[name]; !ok {
			t.Errorf("token has no %q claim, want one", name)
		}
		delete(claims, name)
	}
	return claims
}

// with returns a copy of claims with the given claims added or replaced;
// a nil value removes the claim.
func with(claims map[string]any, changes map[string]any) map[string]any {
	out := make(map[string]any, len(claims)+len(changes))
	for k, v := range claims {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = v
	}
	return out
}
