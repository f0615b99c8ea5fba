package agentidtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ClientOption configures a client registered with
// [Authority.RegisterClient] or a blueprint registered with
// [Authority.RegisterBlueprint]. The set of client options is sealed: only
// this package can implement ClientOption.
type ClientOption interface {
	applyClient(*client)
}

type clientOptionFunc func(*client)

func (f clientOptionFunc) applyClient(c *client) { f(c) }

// client is a registered client. It is immutable once registered.
type client struct {
	id        string
	objectID  string
	secrets   []string
	keys      []crypto.PublicKey
	certs     []*certificate
	federated []federatedIdentity
	roles     map[string][]string // app roles by resource
	agent     *agent              // the agent identity, for an agent authenticated by its blueprint's token; else nil
}

// certificate is a registered certificate with the names an assertion may
// give it in its header.
type certificate struct {
	key     crypto.PublicKey
	x5t     string // SHA-1 thumbprint, base64url
	x5tS256 string // SHA-256 thumbprint, base64url
	sha1Hex string // SHA-1 thumbprint, hex, as Entra shows it
	s256Hex string // SHA-256 thumbprint, hex
}

// federatedIdentity is a trusted external identity (a federated identity
// credential in Entra's terms).
type federatedIdentity struct {
	issuer  string
	subject string
}

// WithSecret adds a client secret, for client_secret_basic and
// client_secret_post. It may be given more than once; any of the secrets
// is then accepted. The secret must not be empty.
func WithSecret(secret string) ClientOption {
	return clientOptionFunc(func(c *client) { c.secrets = append(c.secrets, secret) })
}

// WithPublicKey adds a public key for private_key_jwt (RFC 7523 §2.2):
// an *rsa.PublicKey of at least 2048 bits, which verifies RS256 and PS256
// assertions, or a P-256 *ecdsa.PublicKey, which verifies ES256 ones. It
// may be given more than once.
func WithPublicKey(key crypto.PublicKey) ClientOption {
	return clientOptionFunc(func(c *client) { c.keys = append(c.keys, key) })
}

// WithCertificate adds a certificate for private_key_jwt, as Entra
// certificate credentials are. Its public key must be one
// [WithPublicKey] accepts. An assertion names the certificate by header
// x5t#S256 (its SHA-256 thumbprint, base64url), x5t (SHA-1 thumbprint,
// base64url) or kid (either thumbprint, base64url or hex). An assertion
// whose x5t#S256 or x5t names no registered certificate is rejected; one
// that names none is checked against every registered key and
// certificate. The certificate's validity dates are not checked.
func WithCertificate(cert *x509.Certificate) ClientOption {
	return clientOptionFunc(func(c *client) {
		if cert == nil {
			c.certs = append(c.certs, nil)
			return
		}
		s1, s256 := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
		c.certs = append(c.certs, &certificate{
			key:     cert.PublicKey,
			x5t:     base64.RawURLEncoding.EncodeToString(s1[:]),
			x5tS256: base64.RawURLEncoding.EncodeToString(s256[:]),
			sha1Hex: hex.EncodeToString(s1[:]),
			s256Hex: hex.EncodeToString(s256[:]),
		})
	})
}

// WithFederatedIdentity trusts JWTs from another issuer (such as another
// [Authority], a Kubernetes service account issuer or GitHub Actions) as
// client assertions, as an Entra federated identity credential does. Such
// an assertion is verified against the issuer's keys, found by OpenID
// Connect discovery at issuer+"/.well-known/openid-configuration" and then
// its jwks_uri, fetched over plain HTTP on every use; it must have iss
// equal to issuer, sub equal to subject, an aud containing
// "api://AzureADTokenExchange", and an exp in the future. The request must
// name the client in client_id. It may be given more than once.
func WithFederatedIdentity(issuer, subject string) ClientOption {
	return clientOptionFunc(func(c *client) {
		c.federated = append(c.federated, federatedIdentity{issuer: issuer, subject: subject})
	})
}

// WithAppRoles grants app roles to the client on resource (such as
// "api://orders"): they are put in the "roles" claim of its app tokens
// for that resource. It may be given more than once; roles add up.
func WithAppRoles(resource string, roles ...string) ClientOption {
	roles = slices.Clone(roles)
	return clientOptionFunc(func(c *client) {
		if c.roles == nil {
			c.roles = make(map[string][]string)
		}
		for _, r := range roles {
			if !slices.Contains(c.roles[resource], r) {
				c.roles[resource] = append(c.roles[resource], r)
			}
		}
	})
}

// WithObjectID sets the object id of the client's service principal, the
// "oid" and "sub" of its app tokens. The default is a random GUID.
func WithObjectID(oid string) ClientOption {
	return clientOptionFunc(func(c *client) { c.objectID = oid })
}

// RegisterClient registers a confidential client with at least one
// credential: [WithSecret], [WithPublicKey], [WithCertificate] or
// [WithFederatedIdentity]. Clients are shared by all tenants. It returns
// an error if clientID is empty or already registered, if no credential
// is given, or if an option is invalid. It is safe for concurrent use.
//
// A client authenticates with exactly one method (RFC 6749 §2.3). A
// private_key_jwt assertion (RFC 7523 §3) is accepted when it is a compact
// JWS signed with RS256, PS256 or ES256 by a registered key or certificate
// of a fitting type; iss and sub are the client id (and equal client_id
// when the form has one); aud is the token endpoint or the issuer; exp is
// present and not past, nbf and iat not in the future, all with 60
// seconds of leeway; exp - iat is at most 10 minutes when iat is present;
// and its jti was not used by the client before.
//
// A client id may not be the id of an agent identity registered with
// [Authority.RegisterAgent].
func (a *Authority) RegisterClient(clientID string, opts ...ClientOption) error {
	c, err := newClient(clientID, opts)
	if err != nil {
		return err
	}
	return a.addClient(c, false)
}

// newClient builds and validates a client.
func newClient(clientID string, opts []ClientOption) (*client, error) {
	c := &client{id: clientID}
	for _, o := range opts {
		if o != nil {
			o.applyClient(c)
		}
	}
	if c.objectID == "" {
		c.objectID = newGUID()
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// addClient registers c, as a blueprint if blueprint is set.
func (a *Authority) addClient(c *client, blueprint bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.clients[c.id]; ok {
		return fmt.Errorf("agentidtest: client %q is already registered", c.id)
	}
	if a.dir.agents[c.id] != nil {
		return fmt.Errorf("agentidtest: %q is already registered as an agent identity", c.id)
	}
	a.clients[c.id] = c
	if blueprint {
		a.dir.addBlueprint(c.id)
	}
	return nil
}

// validate checks a client before it is registered.
func (c *client) validate() error {
	var errs []error
	if c.id == "" {
		errs = append(errs, errors.New("agentidtest: empty client id"))
	}
	if len(c.secrets)+len(c.keys)+len(c.certs)+len(c.federated) == 0 {
		errs = append(errs, fmt.Errorf("agentidtest: client %q has no credential", c.id))
	}
	if slices.Contains(c.secrets, "") {
		errs = append(errs, errors.New("agentidtest: WithSecret: empty secret"))
	}
	for _, k := range c.keys {
		if err := checkPublicKey(k); err != nil {
			errs = append(errs, fmt.Errorf("agentidtest: WithPublicKey: %w", err))
		}
	}
	for _, cert := range c.certs {
		if cert == nil {
			errs = append(errs, errors.New("agentidtest: WithCertificate: nil certificate"))
		} else if err := checkPublicKey(cert.key); err != nil {
			errs = append(errs, fmt.Errorf("agentidtest: WithCertificate: %w", err))
		}
	}
	for _, fi := range c.federated {
		if !strings.HasPrefix(fi.issuer, "http://") && !strings.HasPrefix(fi.issuer, "https://") {
			errs = append(errs, fmt.Errorf("agentidtest: WithFederatedIdentity: issuer %q is not an http(s) URL", fi.issuer))
		}
		if fi.subject == "" {
			errs = append(errs, errors.New("agentidtest: WithFederatedIdentity: empty subject"))
		}
	}
	for resource := range c.roles {
		if resource == "" {
			errs = append(errs, errors.New("agentidtest: WithAppRoles: empty resource"))
		}
	}
	return errors.Join(errs...)
}

// checkPublicKey reports whether key can verify client assertions.
func checkPublicKey(key crypto.PublicKey) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil || k.N.BitLen() < 2048 {
			return errors.New("RSA key shorter than 2048 bits")
		}
		return nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve != elliptic.P256() {
			return errors.New("ECDSA key not on curve P-256")
		}
		return nil
	default:
		return fmt.Errorf("unsupported key type %T: want *rsa.PublicKey or *ecdsa.PublicKey", key)
	}
}

// lookupClient returns the registered client with id, or nil.
func (a *Authority) lookupClient(id string) *client {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.clients[id]
}
