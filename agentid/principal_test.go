package agentid_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/agentpassport/passport/agentid"
	"github.com/agentpassport/passport/agentid/agentidtest"
)

// principalOpts compare Principals on their exported fields.
var principalOpts = []cmp.Option{cmpopts.IgnoreUnexported(agentid.Principal{}), cmpopts.EquateEmpty()}

func TestPrincipalKinds(t *testing.T) {
	a := agentidtest.NewAuthority(t, agentidtest.WithTenantID(testTenant))
	iat := time.Now().Truncate(time.Second).UTC()
	v := newVerifier(t, a.Issuer(), agentid.WithClock(func() time.Time { return iat.Add(time.Minute) }))
	exp := iat.Add(time.Hour)

	tests := []struct {
		kind      agentTokenKind
		want      *agentid.Principal
		wantDepth int
	}{
		{
			kind: tokenAutonomous,
			want: &agentid.Principal{
				Issuer:        a.Issuer(),
				Subject:       agentSPOID,
				TenantID:      testTenant,
				AgentID:       agentID,
				BlueprintID:   blueprintID,
				Kind:          agentid.Autonomous,
				TokenType:     "app",
				ActorFacets:   []int{11},
				SubjectFacets: []int{11},
				Roles:         []string{"Orders.Read", "Orders.Write"},
				Audience:      []string{testAudience},
				TokenID:       testTokenID,
				IssuedAt:      iat,
				ExpiresAt:     exp,
			},
		},
		{
			kind: tokenOBO,
			want: &agentid.Principal{
				Issuer:            a.Issuer(),
				Subject:           userOID,
				TenantID:          testTenant,
				AgentID:           agentID,
				BlueprintID:       blueprintID,
				Kind:              agentid.Delegated,
				TokenType:         "user",
				ActorFacets:       []int{11},
				UserID:            userOID,
				UserPrincipalName: userUPN,
				Scopes:            []string{"Orders.Read"},
				Audience:          []string{testAudience},
				TokenID:           testTokenID,
				IssuedAt:          iat,
				ExpiresAt:         exp,
			},
		},
		{
			kind: tokenAgentUser,
			want: &agentid.Principal{
				Issuer:            a.Issuer(),
				Subject:           agentUserOID,
				TenantID:          testTenant,
				AgentID:           agentID,
				Kind:              agentid.AgentUser,
				TokenType:         "user",
				ActorFacets:       []int{11},
				SubjectFacets:     []int{13},
				UserID:            agentUserOID,
				UserPrincipalName: agentUserUPN,
				Scopes:            []string{"Orders.Read", "Mail.Send"},
				Audience:          []string{testAudience},
				TokenID:           testTokenID,
				IssuedAt:          iat,
				ExpiresAt:         exp,
			},
		},
		{
			kind: tokenExchange,
			want: &agentid.Principal{
				Issuer:   a.Issuer(),
				Subject:  userOID,
				TenantID: testTenant,
				AgentID:  agentBID,
				Kind:     agentid.Delegated,
				UserID:   userOID,
				Actors: []agentid.Actor{
					{Subject: agentBID},
					{Subject: agentID},
				},
				Scopes:    []string{"orders.read"},
				Audience:  []string{testAudience},
				TokenID:   testExchTokID,
				IssuedAt:  iat,
				ExpiresAt: exp,
			},
			wantDepth: 2,
		},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			tok := issueAgentToken(t, a, tt.kind, iat)
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify(%s token) = %v", tt.kind, err)
			}
			if diff := cmp.Diff(tt.want, got, principalOpts...); diff != "" {
				t.Errorf("Verify(%s token) mismatch (-want +got):\n%s", tt.kind, diff)
			}
			if d := got.DelegationDepth(); d != tt.wantDepth {
				t.Errorf("DelegationDepth() = %d, want %d", d, tt.wantDepth)
			}
		})
	}
}

func TestPrincipalAccessors(t *testing.T) {
	a := agentidtest.NewAuthority(t, agentidtest.WithTenantID(testTenant))
	iat := time.Now().Truncate(time.Second)
	v := newVerifier(t, a.Issuer())
	p, err := v.Verify(context.Background(), issueAgentToken(t, a, tokenOBO, iat))
	if err != nil {
		t.Fatal(err)
	}

	if got, ok := p.Claim("xms_idrel"); !ok || got != "1" {
		t.Errorf(`Claim("xms_idrel") = %v, %v, want "1", true`, got, ok)
	}
	if got, ok := p.Claim("exp"); !ok || got != float64(iat.Add(time.Hour).Unix()) {
		t.Errorf(`Claim("exp") = %v, %v, want %d, true`, got, ok, iat.Add(time.Hour).Unix())
	}
	if got, ok := p.Claim("nope"); ok {
		t.Errorf(`Claim("nope") = %v, true, want absent`, got)
	}
	if got, ok := p.ClaimString("ver"); !ok || got != "2.0" {
		t.Errorf(`ClaimString("ver") = %q, %v, want "2.0", true`, got, ok)
	}
	if got, ok := p.ClaimString("exp"); ok {
		t.Errorf(`ClaimString("exp") = %q, true, want false (not a string)`, got)
	}
	if !p.HasScope("Orders.Read") || p.HasScope("orders.read") || p.HasScope("Orders.Write") {
		t.Errorf("HasScope: want exactly Orders.Read, have %v", p.Scopes)
	}
	if p.HasRole("Orders.Read") {
		t.Errorf("HasRole(Orders.Read) = true for a delegated token without roles")
	}
	if got, want := p.String(), `agentid.Principal{kind=delegated agent="`+agentID+`" blueprint="`+blueprintID+`" user="`+userOID+`" sub="`+userOID+`" tid="contoso"}`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

// TestPrincipalClaimShapes covers the shapes claims come in from
// issuers other than Entra, and the derivation of Kind.
func TestPrincipalClaimShapes(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	tests := []struct {
		name   string
		claims map[string]any
		want   func(p *agentid.Principal) *agentid.Principal // edits a copy of the base Principal
	}{
		{
			name:   "plain app token",
			claims: nil,
			want:   func(p *agentid.Principal) *agentid.Principal { return p },
		},
		{
			name:   "aud array, scp array, roles string",
			claims: map[string]any{"aud": []string{"api://other", testAudience}, "scp": []string{"a", "b"}, "roles": "Admin"},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.Audience = []string{"api://other", testAudience}
				p.Scopes = []string{"a", "b"}
				p.Roles = []string{"Admin"}
				return p
			},
		},
		{
			name:   "scp and scope merged without duplicates",
			claims: map[string]any{"scp": "a b a", "scope": "b c"},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.Scopes = []string{"a", "b", "c"}
				return p
			},
		},
		{
			name:   "facets are unordered integer sets",
			claims: map[string]any{"xms_act_fct": "11 3 11", "xms_sub_fct": []any{13, "2"}},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.ActorFacets = []int{3, 11}
				p.SubjectFacets = []int{2, 13}
				p.Kind = agentid.AgentUser
				return p
			},
		},
		{
			name:   "app with a blueprint and no facets is autonomous",
			claims: map[string]any{"xms_par_app_azp": "bp"},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.BlueprintID = "bp"
				p.Kind = agentid.Autonomous
				return p
			},
		},
		{
			name:   "plain user token",
			claims: map[string]any{"idtyp": nil, "sub": "u1", "preferred_username": "u1@example"},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.TokenType = ""
				p.Subject = "u1"
				return p
			},
		},
		{
			name:   "act with iss and client_id, no idtyp",
			claims: map[string]any{"idtyp": nil, "sub": "u1", "act": map[string]any{"sub": "x", "iss": "https://other", "client_id": "cx"}},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.TokenType = ""
				p.Subject = "u1"
				p.UserID = "u1"
				p.Kind = agentid.Delegated
				p.Actors = []agentid.Actor{{Subject: "x", Issuer: "https://other", ClientID: "cx"}}
				return p
			},
		},
		{
			name:   "appid when no azp, fractional exp",
			claims: map[string]any{"azp": nil, "appid": "app-v1", "exp": float64(testNow.Add(time.Hour).Unix()) + 0.5},
			want: func(p *agentid.Principal) *agentid.Principal {
				p.AgentID = "app-v1"
				p.ExpiresAt = testNow.Add(time.Hour + 500*time.Millisecond)
				return p
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := &agentid.Principal{
				Issuer:    ti.Issuer(),
				Subject:   "agent-sp-oid",
				AgentID:   "agent-app-id",
				TokenType: "app",
				Audience:  []string{testAudience},
				TokenID:   "jti-1",
				IssuedAt:  testNow,
				ExpiresAt: testNow.Add(time.Hour),
			}
			tok := ti.token(t, "RS256", ti.claims(testNow, tt.claims), nil)
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify() = %v", err)
			}
			if diff := cmp.Diff(tt.want(base), got, principalOpts...); diff != "" {
				t.Errorf("Verify() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPrincipalMalformedClaims: claims of the wrong shape reject the
// token, even with a valid signature.
func TestPrincipalMalformedClaims(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	deep := map[string]any{"sub": "leaf"}
	for range agentid.MaxDelegationDepth {
		deep = map[string]any{"sub": "x", "act": deep}
	}
	tests := []struct {
		name   string
		claims map[string]any
	}{
		{"facet not an integer", map[string]any{"xms_sub_fct": "13x"}},
		{"facet negative", map[string]any{"xms_act_fct": "-11"}},
		{"aud a number", map[string]any{"aud": 7}},
		{"aud array of numbers", map[string]any{"aud": []int{7}}},
		{"scp an object", map[string]any{"scp": map[string]any{}}},
		{"act not an object", map[string]any{"act": "agent"}},
		{"act deeper than the bound", map[string]any{"act": deep}},
		{"exp a string", map[string]any{"exp": "tomorrow"}},
		{"iat out of range", map[string]any{"iat": 1e300}},
		{"iss a number", map[string]any{"iss": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := ti.token(t, "RS256", ti.claims(testNow, tt.claims), nil)
			_, err := v.Verify(context.Background(), tok)
			if checkOf(err) != agentid.CheckMalformed || !errors.Is(err, agentid.ErrMalformedToken) {
				t.Errorf("Verify() = %v, want a CheckMalformed error", err)
			}
		})
	}

	t.Run("act exactly at the bound", func(t *testing.T) {
		chain := map[string]any{"sub": "a1"}
		for i := 2; i <= agentid.MaxDelegationDepth; i++ {
			chain = map[string]any{"sub": "a" + strings.Repeat("x", i), "act": chain}
		}
		tok := ti.token(t, "RS256", ti.claims(testNow, map[string]any{"act": chain}), nil)
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("Verify() = %v", err)
		}
		if got := p.DelegationDepth(); got != agentid.MaxDelegationDepth {
			t.Errorf("DelegationDepth() = %d, want %d", got, agentid.MaxDelegationDepth)
		}
	})
}
