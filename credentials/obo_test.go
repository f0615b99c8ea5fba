package credentials_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func TestOBOEntraWire(t *testing.T) {
	e := newAgentEnv(t, nil)
	user := e.userToken(t)
	tok, err := e.agent.OnBehalfOf(user).Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatalf("Token(): %v", err)
	}
	obo := requestsWhere(e.a, func(r agentidtest.TokenRequest) bool { return r.Form.Get("grant_type") == grantJWTBearer })
	if len(obo) != 1 {
		t.Fatalf("on-behalf-of requests = %d, want 1", len(obo))
	}
	form := cloneValues(obo[0].Form)
	t1 := form.Get("client_assertion")
	form.Del("client_assertion")
	want := url.Values{
		"grant_type":            {grantJWTBearer},
		"client_id":             {agentID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"assertion":             {user},
		"requested_token_use":   {"on_behalf_of"},
		"scope":                 {"api://orders/.default"},
	}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("on-behalf-of form mismatch (-want +got):\n%s", diff)
	}
	if c := claimsOf(t, e.a, t1); c["fmi_path"] != agentID {
		t.Errorf("client_assertion is not the agent's exchange token: %v", c)
	}
	c := claimsOf(t, e.a, tok.AccessToken())
	got := map[string]any{"oid": c["oid"], "sub": c["sub"], "azp": c["azp"], "idtyp": c["idtyp"], "xms_act_fct": c["xms_act_fct"]}
	wantClaims := map[string]any{"oid": userOID, "sub": userOID, "azp": agentID, "idtyp": "user", "xms_act_fct": "11"}
	if diff := cmp.Diff(wantClaims, got); diff != "" {
		t.Errorf("on-behalf-of token claims mismatch (-want +got):\n%s", diff)
	}
}

func TestOBORFC8693Wire(t *testing.T) {
	e := newAgentEnv(t, nil, credentials.WithDialect(credentials.DialectRFC8693))
	user := e.userToken(t)
	tok, err := e.agent.OnBehalfOf(user).Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatalf("Token(): %v", err)
	}
	ex := requestsWhere(e.a, func(r agentidtest.TokenRequest) bool { return r.Form.Get("grant_type") == grantExchange })
	if len(ex) != 1 {
		t.Fatalf("token-exchange requests = %d, want 1", len(ex))
	}
	form := cloneValues(ex[0].Form)
	actor := form.Get("actor_token")
	form.Del("actor_token")
	form.Del("client_assertion")
	want := url.Values{
		"grant_type":            {grantExchange},
		"client_id":             {agentID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"subject_token":         {user},
		"subject_token_type":    {"urn:ietf:params:oauth:token-type:access_token"},
		"actor_token_type":      {"urn:ietf:params:oauth:token-type:jwt"},
		"requested_token_type":  {"urn:ietf:params:oauth:token-type:access_token"},
		"scope":                 {"api://orders/.default"},
	}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("token-exchange form mismatch (-want +got):\n%s", diff)
	}
	ac := claimsOf(t, e.a, actor)
	if ac["azp"] != agentID {
		t.Errorf("actor_token is not the agent's own token: %v", ac)
	}
	c := claimsOf(t, e.a, tok.AccessToken())
	act, _ := c["act"].(map[string]any)
	if c["sub"] != userOID || act == nil || act["sub"] != ac["sub"] {
		t.Errorf("exchanged token sub = %v, act = %v; want the user and an act naming the agent (%v)", c["sub"], c["act"], ac["sub"])
	}
}

func TestOBORefusedLocally(t *testing.T) {
	e := newAgentEnv(t, nil)
	otherAud, err := e.a.UserToken(userOID, "api://someone-else")
	must(t, err)
	tests := []struct {
		name      string
		assertion string
	}{
		{"audience is not the blueprint", otherAud},
		{"not a JWT", "opaque-token"},
		{"expired", expiredUserToken(t, e.a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.agent.OnBehalfOf(tt.assertion).Token(context.Background(), ordersRead)
			var ae *credentials.AssertionError
			if !errorsIs(err, credentials.ErrInvalidAssertion) || !errorsAs(err, &ae) {
				t.Fatalf("Token() = %v, want an *AssertionError", err)
			}
		})
	}
	if n := len(e.a.TokenRequests()); n != 0 {
		t.Errorf("refused assertions caused %d token request(s), want 0", n)
	}
	// "api://{blueprint}" is an accepted audience too.
	ok, err := e.a.UserToken(userOID, "api://"+blueprintID)
	must(t, err)
	if _, err := e.agent.OnBehalfOf(ok).Token(context.Background(), ordersRead); err != nil {
		t.Errorf("Token() with aud api://blueprint: %v", err)
	}
}

// expiredUserToken mints a user token that expired a minute ago.
func expiredUserToken(t testing.TB, a *agentidtest.Authority) string {
	tok, err := a.IssueToken(map[string]any{
		"iss": a.Issuer(), "aud": blueprintID, "sub": userOID, "oid": userOID, "idtyp": "user",
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix(),
	})
	must(t, err)
	return tok
}

// TestOBONeverMixesUsers is a property test: over random users and
// random interleavings, a token obtained for one user's assertion always
// names that user.
func TestOBONeverMixesUsers(t *testing.T) {
	e := newAgentEnv(t, nil, credentials.WithUserCacheSize(16))
	const users = 40
	assertions := make([]string, users)
	for i := range users {
		oid := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+100)
		must(t, e.a.RegisterUser(oid, fmt.Sprintf("user%d@contoso.example", i)))
		tok, err := e.a.UserToken(oid, blueprintID, "access_as_user")
		must(t, err)
		assertions[i] = tok
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	for w := range 4 {
		order := rng.Perm(users * 5)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range order {
				i := n % users
				tok, err := e.agent.OnBehalfOf(assertions[i]).Token(context.Background(), ordersRead)
				if err != nil {
					t.Errorf("worker %d: Token(user %d): %v", w, i, err)
					return
				}
				want := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+100)
				if got := claimsOf(t, e.a, tok.AccessToken())["oid"]; got != want {
					t.Errorf("worker %d: the token for user %d names %v, want %s", w, i, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestOBOCacheStaysAtItsBound(t *testing.T) {
	const bound, users = 1000, 10_000
	// ES256: signing 20 000 tokens with RSA would dominate the run.
	e := newAgentEnv(t, []agentidtest.Option{agentidtest.WithSigningAlgorithm("ES256")}, credentials.WithUserCacheSize(bound))
	for i := range users {
		oid := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+1000)
		must(t, e.a.RegisterUser(oid, fmt.Sprintf("u%d@contoso.example", i)))
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				oid := fmt.Sprintf("0e0e0e0e-0000-4000-8000-%012d", i+1000)
				tok, err := e.a.UserToken(oid, blueprintID, "access_as_user")
				if err == nil {
					_, err = e.agent.OnBehalfOf(tok).Token(context.Background(), ordersRead)
				}
				if err != nil {
					t.Errorf("user %d: %v", i, err)
				}
			}
		}()
	}
	for i := range users {
		work <- i
		if i%1000 == 999 {
			if n := credentials.OBOCacheLen(e.agent); n > bound {
				t.Fatalf("after %d users the on-behalf-of cache holds %d entries, want at most %d", i+1, n, bound)
			}
		}
	}
	close(work)
	wg.Wait()
	if n := credentials.OBOCacheLen(e.agent); n > bound || n < bound/2 {
		t.Errorf("after %d users the on-behalf-of cache holds %d entries, want at most %d (and not emptied)", users, n, bound)
	}
}
