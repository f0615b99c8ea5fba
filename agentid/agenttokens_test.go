package agentid_test

import (
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
)

// Identities of the agent-token tests.
const (
	testTenant    = "contoso"
	blueprintID   = "b1b1b1b1-0000-4000-8000-000000000001"
	agentID       = "a9a9a9a9-0000-4000-8000-000000000002" // agent A
	agentSPOID    = "5b5b5b5b-0000-4000-8000-000000000003" // agent A's service principal
	agentBID      = "a8a8a8a8-0000-4000-8000-000000000004" // agent B, downstream of A
	userOID       = "0c0c0c0c-0000-4000-8000-000000000005"
	userUPN       = "ada@contoso.example"
	agentUserOID  = "0d0d0d0d-0000-4000-8000-000000000006"
	agentUserUPN  = "orders-agent@contoso.example"
	testTokenID   = "uti-0000000000000001"
	testExchTokID = "jti-0000000000000002"
)

// agentTokenKind names one kind of agent token.
type agentTokenKind string

const (
	tokenAutonomous agentTokenKind = "autonomous"
	tokenOBO        agentTokenKind = "obo"
	tokenAgentUser  agentTokenKind = "agent user"
	tokenExchange   agentTokenKind = "rfc8693 double exchange"
)

// issueAgentToken mints a token of kind at iat with the claim shapes
// Microsoft Entra ID issues to agents (facets as space-separated integer
// strings) and, for the exchange, the RFC 8693 act chain a token
// exchanged twice carries. It is the one place to replace by the
// authority's real agent flows (blueprint → agent, OBO, user_fic, token
// exchange) once those are available.
func issueAgentToken(tb testing.TB, a *agentidtest.Authority, kind agentTokenKind, iat time.Time) string {
	tb.Helper()
	c := map[string]any{
		"iss": a.Issuer(),
		"aud": testAudience,
		"tid": a.TenantID(),
		"iat": iat,
		"nbf": iat,
		"exp": iat.Add(time.Hour),
		"ver": "2.0",
	}
	var extra map[string]any
	switch kind {
	case tokenAutonomous:
		extra = map[string]any{
			"idtyp":           "app",
			"azp":             agentID,
			"appid":           agentID,
			"oid":             agentSPOID,
			"sub":             agentSPOID,
			"xms_par_app_azp": blueprintID,
			"xms_act_fct":     "11",
			"xms_sub_fct":     "11",
			"roles":           []string{"Orders.Read", "Orders.Write"},
			"uti":             testTokenID,
		}
	case tokenOBO:
		extra = map[string]any{
			"idtyp":           "user",
			"oid":             userOID,
			"sub":             userOID,
			"upn":             userUPN,
			"scp":             "Orders.Read",
			"azp":             agentID,
			"appid":           agentID,
			"xms_par_app_azp": blueprintID,
			"xms_act_fct":     "11",
			"xms_idrel":       "1",
			"uti":             testTokenID,
		}
	case tokenAgentUser:
		extra = map[string]any{
			"idtyp":       "user",
			"oid":         agentUserOID,
			"sub":         agentUserOID,
			"upn":         agentUserUPN,
			"scp":         "Orders.Read Mail.Send",
			"azp":         agentID,
			"xms_act_fct": "11",
			"xms_sub_fct": "13",
			"uti":         testTokenID,
		}
	case tokenExchange:
		extra = map[string]any{
			"sub":       userOID,
			"client_id": agentBID,
			"scope":     "orders.read",
			"act": map[string]any{
				"sub": agentBID,
				"act": map[string]any{"sub": agentID},
			},
			"jti": testExchTokID,
		}
	default:
		tb.Fatalf("issueAgentToken: unknown kind %q", kind)
	}
	for k, v := range extra {
		c[k] = v
	}
	tok, err := a.IssueToken(c)
	if err != nil {
		tb.Fatalf("IssueToken(%s) = %v", kind, err)
	}
	return tok
}
