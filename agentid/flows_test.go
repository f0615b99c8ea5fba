package agentid_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

// TestPrincipalFromRealFlows verifies tokens that the SDK obtained
// through the real agent flows (blueprint → agent identity, on-behalf-of,
// agent user, and an RFC 8693 exchange done twice) from the local
// authority, and compares each whole Principal.
func TestPrincipalFromRealFlows(t *testing.T) {
	const (
		secret  = "flow-secret"
		agentOB = "5b5b5b5b-0000-4000-8000-00000000000b" // agent B, a plain client
	)
	ctx := context.Background()
	a := newAuthority(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(secret)))
	must(a.RegisterAgent(blueprintID, agentID, agentidtest.WithAgentObjectID(agentSPOID), agentidtest.WithAgentAppRoles(testAudience, "Orders.Read")))
	must(a.RegisterUser(userOID, userUPN))
	must(a.RegisterAgentUser(agentID, agentUserOID, agentUserUPN))
	must(a.RegisterClient(agentBID, agentidtest.WithSecret(secret), agentidtest.WithObjectID(agentOB)))

	sec, err := credentials.NewSecret(secret)
	must(err)
	entra := credentials.Entra(a.TenantID(), credentials.WithAuthorityHost(a.URL()))
	bp, err := credentials.NewClient(entra, blueprintID, credentials.ClientSecret(sec))
	must(err)
	defer bp.Close()
	agent, err := credentials.NewAgentIdentity(bp, agentID)
	must(err)
	defer agent.Close()
	userToken, err := a.UserToken(userOID, blueprintID, "access_as_user")
	must(err)
	clientB, err := credentials.NewClient(credentials.OIDC(a.Issuer()), agentBID, credentials.ClientSecret(sec))
	must(err)
	defer clientB.Close()

	app := credentials.Request{Scopes: []string{testAudience + "/.default"}}
	read := credentials.Request{Scopes: []string{testAudience + "/Orders.Read"}}
	get := func(src credentials.Source, req credentials.Request) string {
		t.Helper()
		tok, err := src.Token(ctx, req)
		must(err)
		return tok.AccessToken()
	}
	// A double exchange: the agent's on-behalf-of token, exchanged by B
	// acting with its own token, then exchanged by B again.
	oboToken := get(agent.OnBehalfOf(userToken), read)
	once, err := credentials.NewTokenExchange(clientB, credentials.StaticToken(oboToken, ""),
		credentials.WithActor(credentials.SourceToken(clientB, app, credentials.TokenTypeJWT)), credentials.WithAudience(testAudience))
	must(err)
	twice, err := credentials.NewTokenExchange(clientB, credentials.SourceToken(once, credentials.Request{Scopes: []string{"orders.read"}}, ""),
		credentials.WithActor(credentials.SourceToken(clientB, app, credentials.TokenTypeJWT)), credentials.WithAudience(testAudience))
	must(err)

	v := newVerifier(t, a.Issuer())
	base := agentid.Principal{Issuer: a.Issuer(), TenantID: a.TenantID(), Audience: []string{testAudience}}
	with := func(p agentid.Principal) *agentid.Principal {
		p.Issuer, p.TenantID, p.Audience = base.Issuer, base.TenantID, base.Audience
		return &p
	}
	tests := []struct {
		name  string
		token string
		want  *agentid.Principal
	}{
		{"autonomous", get(agent, app), with(agentid.Principal{
			Subject: agentSPOID, AgentID: agentID, BlueprintID: blueprintID, Kind: agentid.Autonomous, TokenType: "app",
			ActorFacets: []int{11}, SubjectFacets: []int{11}, Roles: []string{"Orders.Read"},
		})},
		{"on behalf of a user", oboToken, with(agentid.Principal{
			Subject: userOID, AgentID: agentID, BlueprintID: blueprintID, Kind: agentid.Delegated, TokenType: "user",
			ActorFacets: []int{11}, UserID: userOID, UserPrincipalName: userUPN, Scopes: []string{"Orders.Read"},
		})},
		{"agent user", get(agent.AgentUser(agentUserOID), read), with(agentid.Principal{
			Subject: agentUserOID, AgentID: agentID, BlueprintID: blueprintID, Kind: agentid.AgentUser, TokenType: "user",
			ActorFacets: []int{11}, SubjectFacets: []int{13}, UserID: agentUserOID, UserPrincipalName: agentUserUPN, Scopes: []string{"Orders.Read"},
		})},
		{"RFC 8693 double exchange", get(twice, credentials.Request{Scopes: []string{"orders.read"}}), with(agentid.Principal{
			Subject: userOID, AgentID: agentBID, Kind: agentid.Delegated, TokenType: "user",
			UserID: userOID, UserPrincipalName: userUPN, Scopes: []string{"orders.read"},
			Actors: []agentid.Actor{{Subject: agentOB}, {Subject: agentOB}},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(ctx, tt.token)
			if err != nil {
				t.Fatalf("Verify() = %v", err)
			}
			opts := cmp.Options{
				cmpopts.IgnoreUnexported(agentid.Principal{}),
				cmpopts.IgnoreFields(agentid.Principal{}, "TokenID", "IssuedAt", "ExpiresAt"),
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("Verify(%s token) mismatch (-want +got):\n%s", tt.name, diff)
			}
			if got.TokenID == "" || got.ExpiresAt.IsZero() || got.IssuedAt.IsZero() {
				t.Errorf("Principal lacks token id or times: %v", got)
			}
		})
	}
}
