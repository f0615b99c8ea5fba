package agentidtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jws"
)

// ownClaims are the claims the server reads from a token it issued when
// the token comes back as a client assertion (T1), a user assertion, a
// user federated identity credential (T2) or a subject or actor token.
type ownClaims struct {
	Issuer    string         `json:"iss"`
	Subject   string         `json:"sub"`
	Audience  audience       `json:"aud"`
	Expiry    *float64       `json:"exp"`
	NotBefore *float64       `json:"nbf"`
	ObjectID  string         `json:"oid"`
	UPN       string         `json:"upn"`
	AppID     string         `json:"azp"`
	IDType    string         `json:"idtyp"`
	FMIPath   string         `json:"fmi_path"`
	Act       map[string]any `json:"act"`
	MayAct    *mayAct        `json:"may_act"`
}

// mayAct is the may_act claim (RFC 8693 §4.4): who may act for the
// subject.
type mayAct struct {
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
}

// userOID returns the object id of the token's user: oid, or sub without
// one.
func (cl *ownClaims) userOID() string {
	if cl.ObjectID != "" {
		return cl.ObjectID
	}
	return cl.Subject
}

// problemKind classifies why a token presented to the server is refused.
type problemKind int

const (
	problemMalformed problemKind = iota // not a compact JWS with the claims expected
	problemSignature                    // not signed by a published key of the server
	problemIssuer                       // iss is not the issuer of the request's tenant
	problemTime                         // expired or not valid yet
)

// tokenProblem tells why a token presented to the server was refused. Its
// description never holds the token.
type tokenProblem struct {
	kind problemKind
	desc string // completes "The <token> ...", such as "expired at ..."
}

// clientError renders p as the answer for a refused client assertion.
func (p *tokenProblem) clientError() *tokenError {
	code := map[problemKind]int{
		problemMalformed: codeMalformedJWT,
		problemSignature: codeBadSignature,
		problemIssuer:    codeFICIssuer,
		problemTime:      codeAssertionTime,
	}[p.kind]
	return invalidClient(false, code, "The client assertion %s", p.desc)
}

// grantError renders p as the answer for a refused grant token, named by
// what, such as "assertion" or "subject_token".
func (p *tokenProblem) grantError(what string) *tokenError {
	code := codeInvalidAssertion
	if p.kind == problemTime {
		code = codeAssertionExpired
	}
	return invalidGrant(code, "The %s %s", what, p.desc)
}

// verifyOwn verifies a token the server issued and returns its claims.
// The token must be a compact JWS whose header names by kid a key still in
// the JWKS and the algorithm of that key; its signature must verify; its
// iss must be the issuer of tenant; it must have an exp after now and no
// nbf after now. Tokens of every kind the server issues pass, as do tokens
// of [Authority.IssueToken] that meet these rules.
func (a *Authority) verifyOwn(raw, tenant string, now time.Time) (*ownClaims, *tokenProblem) {
	malformed := &tokenProblem{problemMalformed, "is not a well-formed JWT in JWS compact serialization."}
	if strings.Count(raw, ".") != 2 {
		return nil, malformed
	}
	msg, err := jws.Parse([]byte(raw))
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, malformed
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr == nil || hdr.Has(jws.CriticalKey) || hdr.Has(jws.B64Key) {
		return nil, malformed
	}
	alg, hasAlg := hdr.Algorithm()
	kid, hasKid := hdr.KeyID()
	sk := a.keys.publishedKey(kid)
	if !hasAlg || !hasKid || sk == nil || alg.String() != sk.alg.String() {
		return nil, &tokenProblem{problemSignature, "is not signed by a current key of this authority."}
	}
	payload, err := jws.Verify([]byte(raw), jws.WithKey(sk.alg, sk.public))
	if err != nil {
		return nil, &tokenProblem{problemSignature, "failed signature validation."}
	}
	var cl ownClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return nil, &tokenProblem{problemMalformed, "has claims of unexpected types."}
	}
	if want := a.IssuerFor(tenant); cl.Issuer != want {
		return nil, &tokenProblem{problemIssuer, fmt.Sprintf("was issued by '%s', not by '%s'.", cl.Issuer, want)}
	}
	if cl.Expiry == nil {
		return nil, &tokenProblem{problemMalformed, "has no 'exp' claim."}
	}
	if exp := numericDate(*cl.Expiry); !now.Before(exp) {
		return nil, &tokenProblem{problemTime, "is not within its valid time range: it expired at " + exp.UTC().Format(time.RFC3339) + "."}
	}
	if cl.NotBefore != nil && numericDate(*cl.NotBefore).After(now) {
		return nil, &tokenProblem{problemTime, "is not within its valid time range: it is not valid yet (nbf)."}
	}
	return &cl, nil
}

// publishedKey returns the key with kid kid that is in the JWKS, or nil.
func (k *keyring) publishedKey(kid string) *signingKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, sk := range k.published {
		if sk.kid == kid {
			return sk
		}
	}
	return nil
}
