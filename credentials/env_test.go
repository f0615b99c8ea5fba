package credentials_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

func clearEnv(t *testing.T) {
	for _, v := range []string{credentials.EnvTenantID, credentials.EnvClientID, credentials.EnvClientSecret, credentials.EnvCertificatePath,
		credentials.EnvCertificatePassword, credentials.EnvFederatedTokenFile, credentials.EnvAuthorityHost, credentials.EnvAgentID, credentials.EnvBlueprintID} {
		t.Setenv(v, "")
	}
}

func TestEnvironmentNamesWhatIsMissing(t *testing.T) {
	tests := []struct {
		name    string
		set     map[string]string
		agent   bool
		missing []string
	}{
		{"nothing", nil, false, []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"}},
		{"no credential", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}, false, []string{"AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE"}},
		{"no tenant", map[string]string{"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, false, []string{"AZURE_TENANT_ID"}},
		{"agent without id", map[string]string{"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, true, []string{"PASSPORT_AGENT_ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.set {
				t.Setenv(k, v)
			}
			var err error
			if tt.agent {
				_, err = credentials.AgentFromEnvironment()
			} else {
				_, err = credentials.ClientFromEnvironment()
			}
			var ee *credentials.EnvError
			if !errorsAs(err, &ee) {
				t.Fatalf("error = %v, want an *EnvError", err)
			}
			if diff := cmp.Diff(tt.missing, ee.Missing); diff != "" {
				t.Errorf("missing variables mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAgentFromEnvironment(t *testing.T) {
	clearEnv(t)
	a := agentidtest.NewAuthority(t)
	must(t, a.RegisterBlueprint(blueprintID, agentidtest.WithSecret(testSecret)))
	must(t, a.RegisterAgent(blueprintID, agentID))
	t.Setenv(credentials.EnvTenantID, a.TenantID())
	t.Setenv(credentials.EnvClientID, blueprintID)
	t.Setenv(credentials.EnvClientSecret, testSecret)
	t.Setenv(credentials.EnvAuthorityHost, a.URL())
	t.Setenv(credentials.EnvAgentID, agentID)
	agent, err := credentials.AgentFromEnvironment()
	must(t, err)
	defer agent.Close()
	tok, err := agent.Token(context.Background(), ordersRead)
	must(t, err)
	if c := claimsOf(t, a, tok.AccessToken()); c["azp"] != agentID || c["xms_par_app_azp"] != blueprintID {
		t.Errorf("token from the environment's agent: azp %v, blueprint %v", c["azp"], c["xms_par_app_azp"])
	}
}
