package agentidtest_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

func TestRegisterUserErrors(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name     string
		register func() error
	}{
		{"user: empty oid", func() error { return w.a.RegisterUser("", "x@contoso.example") }},
		{"user: empty upn", func() error { return w.a.RegisterUser("u-x", "") }},
		{"user: duplicate oid", func() error { return w.a.RegisterUser(userOID, "other@contoso.example") }},
		{"user: duplicate upn in another case", func() error { return w.a.RegisterUser("u-x", "ALICE@contoso.example") }},
		{"user: oid of an agent user", func() error { return w.a.RegisterUser(agentUserOID, "other@contoso.example") }},
		{"agent user: empty agent id", func() error { return w.a.RegisterAgentUser("", "u-x", "x@contoso.example") }},
		{"agent user: unknown agent", func() error { return w.a.RegisterAgentUser("ghost", "u-x", "x@contoso.example") }},
		{"agent user: blueprint is no agent", func() error { return w.a.RegisterAgentUser(blueprintID, "u-x", "x@contoso.example") }},
		{"agent user: second of an agent", func() error { return w.a.RegisterAgentUser(agentID, "u-x", "x@contoso.example") }},
		{"agent user: upn of a user", func() error { return w.a.RegisterAgentUser(otherAgentID, "u-x", userUPN) }},
		{"agent user: empty oid", func() error { return w.a.RegisterAgentUser(otherAgentID, "", "x@contoso.example") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.register(); err == nil {
				t.Error("registration = nil, want an error")
			}
		})
	}
	if err := w.a.RegisterAgentUser(otherAgentID, "u-x", "x@contoso.example"); err != nil {
		t.Errorf("RegisterAgentUser(%q) after failures = %v, want nil", otherAgentID, err)
	}
}

func TestUserToken(t *testing.T) {
	w := newWorld(t)
	tests := []struct {
		name   string
		aud    string
		scopes []string
		want   map[string]any
	}{
		{"with scopes", blueprintID, []string{"access_as_user", "Orders.Read"}, map[string]any{
			"iss": w.a.Issuer(), "aud": blueprintID, "tid": homeTenant, "ver": "2.0", "idtyp": "user",
			"sub": userOID, "oid": userOID, "upn": userUPN, "scp": "access_as_user Orders.Read",
			"azp": "00000000-0000-0000-0000-0000000000c1",
		}},
		{"without scopes", "api://" + blueprintID, nil, map[string]any{
			"iss": w.a.Issuer(), "aud": "api://" + blueprintID, "tid": homeTenant, "ver": "2.0", "idtyp": "user",
			"sub": userOID, "oid": userOID, "upn": userUPN, "azp": "00000000-0000-0000-0000-0000000000c1",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := w.userToken(t, tt.aud, tt.scopes...)
			if diff := cmp.Diff(tt.want, claimsOf(t, w.a, tok, accessVolatile...)); diff != "" {
				t.Errorf("UserToken claims mismatch (-want +got):\n%s", diff)
			}
			// Its times follow the Authority's clock and token lifetime.
			_, err := jwt.Parse([]byte(tok), jwt.WithKeySet(fetchKeys(t, w.a)),
				jwt.WithIssuer(w.a.Issuer()), jwt.WithAudience(tt.aud),
				jwt.WithClock(jwt.ClockFunc(func() time.Time { return w.clock.Now().Add(59 * time.Minute) })))
			if err != nil {
				t.Errorf("jwt.Parse(UserToken) at the Authority's clock = %v, want nil", err)
			}
		})
	}
	if tok, err := w.a.UserToken("ghost", blueprintID); err == nil {
		t.Errorf("UserToken(unknown user) = %q, nil, want an error", tok)
	}
}
