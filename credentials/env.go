package credentials

import (
	"fmt"
	"os"
	"strings"
)

// Environment variables read by [ClientFromEnvironment] and
// [AgentFromEnvironment]. The AZURE_ names mean what they mean to the
// Azure SDKs (azidentity's EnvironmentCredential and
// WorkloadIdentityCredential); the PASSPORT_ names are this module's own.
const (
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"
	// EnvAgentID is the agent identity's application id.
	EnvAgentID = "PASSPORT_AGENT_ID"
	// EnvBlueprintID is the blueprint's application id, when it differs
	// from AZURE_CLIENT_ID.
	EnvBlueprintID = "PASSPORT_BLUEPRINT_ID"
)

// EnvError reports configuration missing from, or wrong in, the
// environment. It names the variables, never their values.
type EnvError struct {
	// Missing lists the variables that must be set and are not.
	Missing []string
	// Variable and Reason describe a variable whose value is unusable.
	Variable string
	Reason   string
}

func (e *EnvError) Error() string {
	if len(e.Missing) > 0 {
		return "credentials: environment: " + strings.Join(e.Missing, ", ") + " not set"
	}
	return "credentials: environment: " + e.Variable + ": " + e.Reason
}

// ClientFromEnvironment returns a [Client] configured from the
// environment: the tenant (AZURE_TENANT_ID), the application
// (PASSPORT_BLUEPRINT_ID, else AZURE_CLIENT_ID), the authority host
// (AZURE_AUTHORITY_HOST, default the public cloud) and the first
// credential found among AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH
// (a PEM file with the certificate and its key) and
// AZURE_FEDERATED_TOKEN_FILE. A missing variable is reported as an
// [*EnvError] naming it.
func ClientFromEnvironment(opts ...Option) (*Client, error) {
	tenant, _ := os.LookupEnv(EnvTenantID)
	clientID := os.Getenv(EnvBlueprintID)
	if clientID == "" {
		clientID = os.Getenv(EnvClientID)
	}
	var missing []string
	if tenant == "" {
		missing = append(missing, EnvTenantID)
	}
	if clientID == "" {
		missing = append(missing, EnvClientID)
	}
	cred, err := credentialFromEnvironment()
	if err != nil {
		if ee, ok := err.(*EnvError); ok && len(ee.Missing) > 0 {
			missing = append(missing, ee.Missing...)
		} else {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, &EnvError{Missing: missing}
	}
	var eopts []EntraOption
	if host := os.Getenv(EnvAuthorityHost); host != "" {
		eopts = append(eopts, WithAuthorityHost(host))
	}
	return NewClient(Entra(tenant, eopts...), clientID, cred, opts...)
}

// AgentFromEnvironment returns the [AgentIdentity] named by
// PASSPORT_AGENT_ID, whose blueprint's client is configured as by
// [ClientFromEnvironment]. Closing the agent closes that client too.
func AgentFromEnvironment(opts ...Option) (*AgentIdentity, error) {
	agentID := os.Getenv(EnvAgentID)
	blueprint, err := ClientFromEnvironment(opts...)
	if agentID == "" {
		missing := []string{EnvAgentID}
		if ee, ok := err.(*EnvError); ok {
			missing = append(ee.Missing, missing...)
		} else if err != nil {
			return nil, err
		}
		if blueprint != nil {
			blueprint.Close()
		}
		return nil, &EnvError{Missing: missing}
	}
	if err != nil {
		return nil, err
	}
	agent, err := NewAgentIdentity(blueprint, agentID, opts...)
	if err != nil {
		blueprint.Close()
		return nil, err
	}
	agent.ownsBlueprint = true
	return agent, nil
}

// credentialFromEnvironment picks the credential named by the
// environment, in the order the Azure SDKs use.
func credentialFromEnvironment() (ClientCredential, error) {
	if s := os.Getenv(EnvClientSecret); s != "" {
		secret, err := NewSecret(s)
		if err != nil {
			return nil, &EnvError{Variable: EnvClientSecret, Reason: "empty"}
		}
		return ClientSecret(secret), nil
	}
	if path := os.Getenv(EnvCertificatePath); path != "" {
		if os.Getenv(EnvCertificatePassword) != "" {
			return nil, &EnvError{Variable: EnvCertificatePassword, Reason: "password-protected (PKCS #12) certificates are not supported; use a PEM file with an unencrypted key"}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, &EnvError{Variable: EnvCertificatePath, Reason: fmt.Sprintf("cannot read %s: %v", path, err)}
		}
		chain, key, err := ParseCertificate(data)
		if err != nil {
			return nil, &EnvError{Variable: EnvCertificatePath, Reason: err.Error()}
		}
		return Certificate(chain, key), nil
	}
	if path := os.Getenv(EnvFederatedTokenFile); path != "" {
		return AssertionFile(path), nil
	}
	return nil, &EnvError{Missing: []string{EnvClientSecret + " or " + EnvCertificatePath + " or " + EnvFederatedTokenFile}}
}
