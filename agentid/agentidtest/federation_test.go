package agentidtest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

func TestFederatedIdentity(t *testing.T) {
	const subject = "system:serviceaccount:agents:orders"
	idp := agentidtest.NewAuthority(t)   // the external issuer, as a Kubernetes cluster would be
	rogue := agentidtest.NewAuthority(t) // signs with keys idp does not publish
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "fed-app",
		agentidtest.WithFederatedIdentity("https://token.actions.example", "repo:x"),
		agentidtest.WithFederatedIdentity(idp.Issuer(), subject))

	now := time.Now()
	valid := func() map[string]any {
		return map[string]any{
			"iss": idp.Issuer(),
			"sub": subject,
			"aud": []string{"api://AzureADTokenExchange"},
			"iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(),
		}
	}
	invalid := func(code int) outcome { return outcome{http.StatusBadRequest, "invalid_client", []int{code}} }
	tests := []struct {
		name   string
		signer *agentidtest.Authority
		change func(map[string]any)
		want   outcome
	}{
		{"valid", idp, nil, ok},
		{"valid twice", idp, nil, ok},
		{"wrong subject", idp, func(c map[string]any) { c["sub"] = "system:serviceaccount:agents:other" }, invalid(700213)},
		{"wrong audience", idp, func(c map[string]any) { c["aud"] = "api://orders" }, invalid(700212)},
		{"expired", idp, func(c map[string]any) { c["exp"] = now.Add(-5 * time.Minute).Unix() }, invalid(700024)},
		{"no exp", idp, func(c map[string]any) { delete(c, "exp") }, invalid(50013)},
		{"untrusted issuer", rogue, func(c map[string]any) { c["iss"] = rogue.Issuer() }, invalid(700211)},
		{"signed by another key", rogue, nil, invalid(700027)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := valid()
			if tt.change != nil {
				tt.change(claims)
			}
			ext, err := tt.signer.IssueToken(claims)
			if err != nil {
				t.Fatal(err)
			}
			r := postToken(t, a, assertionForm("fed-app", ext, "api://orders/.default"), nil)
			if diff := cmp.Diff(tt.want, r.outcome()); diff != "" {
				t.Errorf("federated token request mismatch (-want +got):\n%s\n%s", diff, r.body.ErrorDescription)
			}
		})
	}
}

func TestFederatedIdentityIssuerDown(t *testing.T) {
	idp, err := agentidtest.StartAuthority()
	if err != nil {
		t.Fatal(err)
	}
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "fed-app", agentidtest.WithFederatedIdentity(idp.Issuer(), "workload"))
	ext, err := idp.IssueToken(map[string]any{
		"iss": idp.Issuer(), "sub": "workload", "aud": "api://AzureADTokenExchange",
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	idp.Close()
	r := postToken(t, a, assertionForm("fed-app", ext, "api://orders/.default"), nil)
	want := outcome{http.StatusBadRequest, "invalid_client", []int{700027}}
	if diff := cmp.Diff(want, r.outcome()); diff != "" {
		t.Errorf("token request with issuer down mismatch (-want +got):\n%s", diff)
	}
}
