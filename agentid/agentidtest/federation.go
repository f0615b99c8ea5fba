package agentidtest

import (
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/lestrrat-go/jwx/v3/jwk"
)

const (
	// tokenExchangeAudience is the aud an assertion must carry to be
	// exchanged through a federated identity credential (Entra, public
	// cloud).
	tokenExchangeAudience = "api://AzureADTokenExchange"
	// maxFetchBytes bounds a federated issuer's discovery document and
	// JWKS.
	maxFetchBytes = 1 << 20
)

// verifyFederated verifies an assertion issued by an external issuer that
// the client trusts ([WithFederatedIdentity]): the issuer must be trusted
// before anything is fetched from it; then the signature is checked with
// the issuer's published keys, then sub, aud, exp, nbf and iat.
func (a *Authority) verifyFederated(req *grantRequest, c *client, p *parsedAssertion) *tokenError {
	cl := &p.claims
	var subjects []string
	for _, fi := range c.federated {
		if fi.issuer == cl.Issuer {
			subjects = append(subjects, fi.subject)
		}
	}
	if len(subjects) == 0 {
		return invalidClient(false, codeFICIssuer,
			"No matching federated identity record found for presented assertion issuer '%s'.", cl.Issuer)
	}
	keys, err := a.issuerKeys(req.ctx, cl.Issuer, p)
	if err != nil {
		return invalidClient(false, codeBadSignature,
			"The signing keys of issuer '%s' could not be fetched.", cl.Issuer)
	}
	if te := verifySignature(p, keys); te != nil {
		return te
	}
	if !slices.Contains(subjects, cl.Subject) {
		return invalidClient(false, codeFICSubject,
			"No matching federated identity record found for presented assertion subject '%s'.", cl.Subject)
	}
	if !slices.Contains(cl.Audience, tokenExchangeAudience) {
		return invalidClient(false, codeFICAudience,
			"No matching federated identity record found for presented assertion audience; it must contain '%s'.", tokenExchangeAudience)
	}
	_, te := checkTimes(cl, req.now, false)
	return te
}

// issuerKeys fetches the public keys of issuer that may have signed the
// assertion: the key named by the header kid, or every key without one.
// A key whose alg differs from the header's is left out. It returns an
// error only if the keys cannot be fetched.
func (a *Authority) issuerKeys(ctx context.Context, issuer string, p *parsedAssertion) ([]crypto.PublicKey, error) {
	var meta struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := a.fetchJSON(ctx, issuer+"/.well-known/openid-configuration", &meta); err != nil {
		return nil, err
	}
	// OpenID Connect Discovery 1.0 §4.3: the issuer must match exactly.
	if meta.Issuer != issuer || meta.JWKSURI == "" {
		return nil, fmt.Errorf("agentidtest: discovery of %q names issuer %q", issuer, meta.Issuer)
	}
	var doc json.RawMessage
	if err := a.fetchJSON(ctx, meta.JWKSURI, &doc); err != nil {
		return nil, err
	}
	set, err := jwk.Parse(doc)
	if err != nil {
		return nil, err
	}
	kid, hasKid := p.header.KeyID()
	var keys []crypto.PublicKey
	for i := range set.Len() {
		k, _ := set.Key(i)
		if id, _ := k.KeyID(); hasKid && id != kid {
			continue
		}
		if alg, ok := k.Algorithm(); ok && alg.String() != p.alg.String() {
			continue
		}
		var raw any
		if err := jwk.Export(k, &raw); err != nil {
			continue
		}
		if checkPublicKey(raw) == nil {
			keys = append(keys, raw)
		}
	}
	return keys, nil
}

// fetchJSON gets url with the federation client and decodes its JSON body
// into v.
func (a *Authority) fetchJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.fed.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxFetchBytes))
		return fmt.Errorf("agentidtest: GET %s: status %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxFetchBytes)).Decode(v)
}
