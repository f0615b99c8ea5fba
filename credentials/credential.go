package credentials

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// clientAssertionType is RFC 7523 §2.2's client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientCredential is how a confidential client proves who it is to the
// token endpoint: [ClientSecret], [PrivateKey], [Certificate],
// [AssertionFile] or [AssertionFunc]. Every ClientCredential redacts
// itself when printed, logged or marshalled, and is safe for concurrent
// use.
type ClientCredential interface {
	// authenticate adds the credential to a token request.
	authenticate(ctx context.Context, a *authRequest) error
	// validate checks the credential once, when a Client is built.
	validate() error
	fmt.Stringer
}

// authRequest is a token request being authenticated.
type authRequest struct {
	clientID string
	md       *metadata
	tenant   string // the request's tenant override, "" for the authority's own
	form     url.Values
	basic    [2]string // client_secret_basic id and secret, when used
	now      time.Time
}

// redactedCredential gives a credential type the printing methods that
// keep its secret out of every output.
type redactedCredential struct{ kind string }

func (r redactedCredential) String() string               { return "credentials." + r.kind + "(" + redacted + ")" }
func (r redactedCredential) GoString() string             { return r.String() }
func (r redactedCredential) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(r.String())) }
func (r redactedCredential) LogValue() slog.Value         { return slog.StringValue(r.String()) }
func (r redactedCredential) MarshalJSON() ([]byte, error) { return []byte(`"` + r.String() + `"`), nil }

// ClientSecret authenticates with a client secret, as client_secret_post
// or client_secret_basic (RFC 6749 §2.3.1): Entra authorities get
// client_secret_post; other authorities get client_secret_basic unless
// their discovery document lists only client_secret_post.
func ClientSecret(secret Secret) ClientCredential {
	return &secretCredential{redactedCredential{"ClientSecret"}, secret}
}

type secretCredential struct {
	redactedCredential
	secret Secret
}

func (c *secretCredential) validate() error {
	if c.secret.IsZero() {
		return errors.New("credentials: ClientSecret: empty secret")
	}
	return nil
}

func (c *secretCredential) authenticate(_ context.Context, a *authRequest) error {
	method, err := secretMethod(a.md)
	if err != nil {
		return err
	}
	if method == "client_secret_basic" {
		a.basic = [2]string{a.clientID, c.secret.Reveal()}
		return nil
	}
	a.form.Set("client_id", a.clientID)
	a.form.Set("client_secret", c.secret.Reveal())
	return nil
}

// secretMethod picks client_secret_post or client_secret_basic.
func secretMethod(md *metadata) (string, error) {
	switch {
	case md.entra:
		return "client_secret_post", nil
	case len(md.authMethods) == 0, slices.Contains(md.authMethods, "client_secret_basic"):
		return "client_secret_basic", nil
	case slices.Contains(md.authMethods, "client_secret_post"):
		return "client_secret_post", nil
	}
	return "", fmt.Errorf("credentials: the authority accepts neither client_secret_basic nor client_secret_post (it lists %s)", strings.Join(md.authMethods, ", "))
}

// KeyOption configures [PrivateKey] and [Certificate].
type KeyOption interface{ applyKey(*keyCredential) }

type keyOptionFunc func(*keyCredential)

func (f keyOptionFunc) applyKey(k *keyCredential) { f(k) }

// WithKeyID sets the "kid" header of client assertions. The default is
// none for [PrivateKey] and the certificate's SHA-256 thumbprint, sent as
// "x5t#S256", for [Certificate].
func WithKeyID(kid string) KeyOption {
	return keyOptionFunc(func(k *keyCredential) { k.keyID = kid })
}

// WithX5C sends the certificate chain in the "x5c" header of client
// assertions (Entra's "send certificate chain", needed for subject name
// and issuer authentication). The default is not to send it.
func WithX5C() KeyOption {
	return keyOptionFunc(func(k *keyCredential) { k.sendChain = true })
}

// PrivateKey authenticates with private_key_jwt (RFC 7523 §2.2): a JWT
// signed with key, whose public half is registered with the authority.
// The algorithm follows the key and the authority: PS256 for RSA keys at
// Entra; elsewhere RS256 or PS256 for RSA, ES256/ES384/ES512 for ECDSA,
// EdDSA for Ed25519, as the discovery document allows.
func PrivateKey(key crypto.Signer, opts ...KeyOption) ClientCredential {
	k := &keyCredential{redactedCredential: redactedCredential{"PrivateKey"}, key: key}
	for _, o := range opts {
		o.applyKey(k)
	}
	return k
}

// Certificate authenticates with private_key_jwt using the key of a
// certificate registered with the authority; chain[0] is that
// certificate. Assertions name it by "x5t#S256" (and "x5c" with
// [WithX5C]); at Entra they are signed with PS256.
func Certificate(chain []*x509.Certificate, key crypto.Signer, opts ...KeyOption) ClientCredential {
	k := &keyCredential{redactedCredential: redactedCredential{"Certificate"}, key: key, chain: chain}
	for _, o := range opts {
		o.applyKey(k)
	}
	return k
}

type keyCredential struct {
	redactedCredential
	key       crypto.Signer
	chain     []*x509.Certificate
	keyID     string
	sendChain bool
}

func (k *keyCredential) validate() error {
	if k.key == nil {
		return fmt.Errorf("credentials: %s: nil key", k.kind)
	}
	if _, err := keyAlgorithms(k.key.Public()); err != nil {
		return fmt.Errorf("credentials: %s: %w", k.kind, err)
	}
	if k.kind == "Certificate" {
		if len(k.chain) == 0 || k.chain[0] == nil {
			return errors.New("credentials: Certificate: no certificate")
		}
		pub, ok := k.chain[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(k.key.Public()) {
			return errors.New("credentials: Certificate: the key does not match the certificate")
		}
	}
	return nil
}

func (k *keyCredential) authenticate(_ context.Context, a *authRequest) error {
	if len(a.md.authMethods) > 0 && !slices.Contains(a.md.authMethods, "private_key_jwt") {
		return fmt.Errorf("credentials: the authority does not accept private_key_jwt (it lists %s)", strings.Join(a.md.authMethods, ", "))
	}
	assertion, err := k.sign(a)
	if err != nil {
		return err
	}
	a.form.Set("client_id", a.clientID)
	a.form.Set("client_assertion_type", clientAssertionType)
	a.form.Set("client_assertion", assertion)
	return nil
}

// keyAlgorithms lists the JWS algorithms usable with pub, preferred
// first.
func keyAlgorithms(pub crypto.PublicKey) ([]string, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < 2048 {
			return nil, fmt.Errorf("RSA key of %d bits; at least 2048 are required", p.N.BitLen())
		}
		return []string{"RS256", "PS256"}, nil
	case *ecdsa.PublicKey:
		switch p.Curve {
		case elliptic.P256():
			return []string{"ES256"}, nil
		case elliptic.P384():
			return []string{"ES384"}, nil
		case elliptic.P521():
			return []string{"ES512"}, nil
		}
		return nil, errors.New("unsupported elliptic curve")
	case ed25519.PublicKey:
		return []string{"EdDSA"}, nil
	}
	return nil, fmt.Errorf("unsupported key type %T", pub)
}

// algorithm picks the assertion's algorithm for md.
func (k *keyCredential) algorithm(md *metadata) (string, error) {
	algs, err := keyAlgorithms(k.key.Public())
	if err != nil {
		return "", err
	}
	if md.entra {
		if algs[0] != "RS256" {
			return "", errors.New("credentials: Entra accepts RSA keys only for client assertions")
		}
		return "PS256", nil
	}
	if len(md.signingAlgs) == 0 {
		return algs[0], nil
	}
	for _, alg := range algs {
		if slices.Contains(md.signingAlgs, alg) {
			return alg, nil
		}
	}
	return "", fmt.Errorf("credentials: the authority accepts client assertions signed with %s, none of which fits this key", strings.Join(md.signingAlgs, ", "))
}

// ParseCertificate reads a PEM bundle holding one or more certificates
// (leaf first) and the leaf's private key (PKCS #8, PKCS #1 or SEC 1), as
// found at AZURE_CLIENT_CERTIFICATE_PATH. PKCS #12 files are not
// supported: convert them to PEM.
func ParseCertificate(pemData []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var chain []*x509.Certificate
	var key crypto.Signer
	for {
		var block *pem.Block
		block, pemData = pem.Decode(pemData)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, fmt.Errorf("credentials: certificate %d: %w", len(chain), err)
			}
			chain = append(chain, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
			if key != nil {
				return nil, nil, errors.New("credentials: more than one private key in the PEM data")
			}
			k, err := parsePrivateKey(block)
			if err != nil {
				return nil, nil, err
			}
			key = k
		}
	}
	if len(chain) == 0 {
		return nil, nil, errors.New("credentials: no CERTIFICATE block in the PEM data")
	}
	if key == nil {
		return nil, nil, errors.New("credentials: no private key in the PEM data")
	}
	return chain, key, nil
}

func parsePrivateKey(block *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err = x509.ParseECPrivateKey(block.Bytes)
	}
	if err != nil {
		// The parse error may quote key bytes; keep it out.
		return nil, fmt.Errorf("credentials: cannot parse the %s block", block.Type)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("credentials: %T is not a signing key", k)
	}
	return s, nil
}

// thumbprint returns the base64url SHA-256 thumbprint of a certificate.
func thumbprint(c *x509.Certificate) string {
	sum := sha256Sum(c.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// AssertionFunc authenticates with a client assertion obtained from f on
// every token request: a federated credential such as a SPIFFE JWT-SVID,
// a GitHub Actions OIDC token or a managed identity's token. It is sent
// as client_assertion with the RFC 7523 assertion type.
func AssertionFunc(f func(ctx context.Context) (string, error)) ClientCredential {
	return &assertionCredential{redactedCredential: redactedCredential{"AssertionFunc"}, get: f}
}

// AssertionFile authenticates with a client assertion read from path,
// such as a Kubernetes projected service account token. The file is read
// again whenever its size or modification time changes. When path is
// empty, the AZURE_FEDERATED_TOKEN_FILE environment variable names the
// file.
func AssertionFile(path string) ClientCredential {
	f := &assertionFile{path: path}
	return &assertionCredential{redactedCredential: redactedCredential{"AssertionFile"}, get: f.read, file: f}
}

type assertionCredential struct {
	redactedCredential
	get  func(ctx context.Context) (string, error)
	file *assertionFile // nil for AssertionFunc
}

func (c *assertionCredential) validate() error {
	if c.get == nil {
		return errors.New("credentials: AssertionFunc: nil func")
	}
	if c.file != nil {
		if c.file.path == "" {
			c.file.path = os.Getenv("AZURE_FEDERATED_TOKEN_FILE")
		}
		if c.file.path == "" {
			return errors.New("credentials: AssertionFile: no path and AZURE_FEDERATED_TOKEN_FILE is not set")
		}
	}
	return nil
}

func (c *assertionCredential) authenticate(ctx context.Context, a *authRequest) error {
	assertion, err := c.get(ctx)
	if err != nil {
		return fmt.Errorf("credentials: getting the client assertion: %w", err)
	}
	assertion = strings.TrimSpace(assertion)
	if assertion == "" {
		return errors.New("credentials: the client assertion is empty")
	}
	a.form.Set("client_id", a.clientID)
	a.form.Set("client_assertion_type", clientAssertionType)
	a.form.Set("client_assertion", assertion)
	return nil
}

// assertionFile caches the content of a file that rotates in place.
type assertionFile struct {
	path string

	mu      sync.Mutex // guards the fields below
	modTime time.Time
	size    int64
	content string
}

// maxAssertionBytes bounds an assertion file.
const maxAssertionBytes = 64 << 10

func (f *assertionFile) read(context.Context) (string, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.content != "" && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return f.content, nil
	}
	if fi.Size() > maxAssertionBytes {
		return "", fmt.Errorf("assertion file %s is larger than %d bytes", f.path, maxAssertionBytes)
	}
	b, err := os.ReadFile(f.path)
	if err != nil {
		return "", err
	}
	f.content, f.modTime, f.size = strings.TrimSpace(string(b)), fi.ModTime(), fi.Size()
	return f.content, nil
}
