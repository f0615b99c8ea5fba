package agentidtest_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
)

// jwkSummary is what a test checks of one published key.
type jwkSummary struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv,omitempty"`
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Kid string `json:"kid"`
}

func TestJWKS(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	var doc struct{ Keys []jwkSummary }
	if status := getJSON(t, a.HTTPClient(), a.JWKSURL(), &doc); status != http.StatusOK {
		t.Fatalf("GET JWKS: status %d, want 200", status)
	}
	var kids []string
	for i := range doc.Keys {
		if doc.Keys[i].Kid == "" || slices.Contains(kids, doc.Keys[i].Kid) {
			t.Errorf("key %d has kid %q, want a unique non-empty kid", i, doc.Keys[i].Kid)
		}
		kids = append(kids, doc.Keys[i].Kid)
		doc.Keys[i].Kid = ""
	}
	want := []jwkSummary{
		{Kty: "RSA", Alg: "RS256", Use: "sig"},
		{Kty: "EC", Alg: "ES256", Use: "sig", Crv: "P-256"},
	}
	if diff := cmp.Diff(want, doc.Keys); diff != "" {
		t.Errorf("JWKS mismatch (-want +got):\n%s", diff)
	}

	set := fetchKeys(t, a)
	for i := range set.Len() {
		k, _ := set.Key(i)
		if private, err := jwk.IsPrivateKey(k); err != nil || private {
			t.Errorf("jwk.IsPrivateKey(key %d) = %v, %v, want false, nil", i, private, err)
		}
	}
}

func TestRotateKeys(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			a := agentidtest.NewAuthority(t, agentidtest.WithSigningAlgorithm(alg))
			mustRegister(t, a, "app", agentidtest.WithSecret("s"))
			token := func() string {
				t.Helper()
				r := postToken(t, a, secretForm("app", "s", "api://x/.default"), nil)
				if r.status != http.StatusOK {
					t.Fatalf("token request: status %d, want 200 (%s)", r.status, r.body.ErrorDescription)
				}
				return r.body.AccessToken
			}
			verifies := func(tok string) bool {
				t.Helper()
				_, err := verifiedClaims(t, a, tok)
				return err == nil
			}

			old := token()
			a.RotateKeys()
			cur := token()
			if got, want := kidOf(t, cur), kidOf(t, old); got == want {
				t.Errorf("kid after RotateKeys = %q, want a new kid", got)
			}
			if n := fetchKeys(t, a).Len(); n != 4 {
				t.Errorf("JWKS after RotateKeys has %d keys, want 4", n)
			}
			if !verifies(old) || !verifies(cur) {
				t.Errorf("after RotateKeys: old verifies = %t, new verifies = %t, want both true", verifies(old), verifies(cur))
			}

			a.RetireOldKeys()
			if n := fetchKeys(t, a).Len(); n != 2 {
				t.Errorf("JWKS after RetireOldKeys has %d keys, want 2", n)
			}
			if verifies(old) {
				t.Error("token signed before RotateKeys verifies after RetireOldKeys, want failure")
			}
			if !verifies(cur) {
				t.Error("token signed after RotateKeys does not verify after RetireOldKeys")
			}
		})
	}
}

// kidOf returns the kid header of a compact JWS.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	msg, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID()
	return kid
}

func TestIssueToken(t *testing.T) {
	a := agentidtest.NewAuthority(t, agentidtest.WithSigningAlgorithm("ES256"))
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok, err := a.IssueToken(map[string]any{"iss": "https://idp.example", "exp": exp, "groups": []string{"a", "b"}})
	if err != nil {
		t.Fatalf("IssueToken() = %v, want nil", err)
	}
	got, err := verifiedClaims(t, a, tok)
	if err != nil {
		t.Fatalf("verifying IssueToken() token: %v", err)
	}
	want := map[string]any{"iss": "https://idp.example", "exp": float64(exp.Unix()), "groups": []any{"a", "b"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IssueToken() claims mismatch (-want +got):\n%s", diff)
	}
	msg, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	alg, _ := hdr.Algorithm()
	typ, _ := hdr.Type()
	if alg.String() != "ES256" || typ != "JWT" || kidOf(t, tok) == "" {
		t.Errorf("IssueToken() header alg=%s typ=%q kid=%q, want ES256, JWT and a kid", alg, typ, kidOf(t, tok))
	}
}
