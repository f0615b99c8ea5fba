package agentid_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid"
)

// FuzzVerify feeds arbitrary strings to Verify: it never panics, and
// accepts nothing but the valid tokens among the seeds (RS256,
// whose signatures, unlike ECDSA's, cannot be altered and stay valid).
func FuzzVerify(f *testing.F) {
	ti := newTestIssuer(f)
	v := newVerifier(f, ti.Issuer(), agentid.WithClock(func() time.Time { return testNow }))
	valid := map[string]bool{
		ti.token(f, "RS256", ti.claims(testNow, nil), nil): true,
		ti.token(f, "RS256", ti.claims(testNow, map[string]any{"act": map[string]any{"sub": "a", "act": map[string]any{"sub": "b"}}}), nil): true,
	}
	for tok := range valid {
		f.Add(tok)
	}
	f.Add(ti.token(f, "RS256", ti.claims(testNow, map[string]any{"exp": nil}), nil))
	f.Add(ti.token(f, "RS256", ti.claims(testNow, nil), map[string]any{"crit": []string{"x"}}))
	f.Add(signJWT(f, map[string]any{"alg": "none"}, ti.claims(testNow, nil), "none", nil))
	f.Add("")
	f.Add("a.b.c")
	f.Add("e30.e30.e30")
	f.Add("eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ..")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(context.Background(), token)
		if err == nil && !valid[token] {
			t.Fatalf("Verify(%q) accepted a token that is not a valid seed: %v", token, p)
		}
		if err != nil && p != nil {
			t.Fatalf("Verify(%q) = %v, %v: a Principal with an error", token, p, err)
		}
	})
}

// FuzzActChain feeds arbitrary JSON to the act claim parser: it never
// panics, never returns more than MaxDelegationDepth actors, and what it
// returns survives a round trip.
func FuzzActChain(f *testing.F) {
	f.Add([]byte(`{"sub":"b","act":{"sub":"a"}}`))
	f.Add([]byte(`{"sub":"b","iss":"https://x","client_id":"c","act":null}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`"agent"`))
	f.Add([]byte(`{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{"act":{}}}}}}}}}}}}}}}}}}`))
	f.Add([]byte(`{"sub":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		chain, err := agentid.ParseActChain(data)
		if err != nil {
			return
		}
		if len(chain) > agentid.MaxDelegationDepth {
			t.Fatalf("ParseActChain(%q) = %d actors, want at most %d", data, len(chain), agentid.MaxDelegationDepth)
		}
		again, err := agentid.ParseActChain(encodeActChain(chain))
		if err != nil {
			t.Fatalf("ParseActChain(encode(%v)) = %v", chain, err)
		}
		if diff := cmp.Diff(chain, again); diff != "" {
			t.Fatalf("act chain round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// FuzzClaims feeds arbitrary claims sets to the claims decoder, a strict
// JSON reader of its own: it never panics, accepts only valid JSON, reads
// string claims as encoding/json does (escapes, repeated names: the last
// wins), and returns facets as sorted sets.
func FuzzClaims(f *testing.F) {
	f.Add([]byte(`{"iss":"i","aud":["a"],"exp":1,"scp":"a b","xms_act_fct":"11 3","xms_sub_fct":[13],"act":{"sub":"x"}}`))
	f.Add([]byte(`{"aud":"a","scope":["x"],"roles":"r","exp":1.5e2,"idtyp":"user","oid":"o","iss":"\u0069\n"}`))
	f.Add([]byte(` {"sub":"a","sub":"b","x":[1,{"y":null},true,false,-0.5E+3]} `))
	f.Add([]byte(`{"\u0069ss":"escaped name","azp":"\ud83d\ude00"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"iss":"\x"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := agentid.DecodePrincipal(payload)
		if err != nil {
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("DecodePrincipal(%q) accepted invalid JSON", payload)
		}
		var ref map[string]json.RawMessage
		if err := json.Unmarshal(payload, &ref); err != nil {
			t.Fatalf("encoding/json rejects %q, which DecodePrincipal accepted: %v", payload, err)
		}
		for name, got := range map[string]string{"iss": p.Issuer, "sub": p.Subject, "tid": p.TenantID, "xms_par_app_azp": p.BlueprintID} {
			var want string
			if raw, ok := ref[name]; ok {
				if err := json.Unmarshal(raw, &want); err != nil && string(raw) != "null" {
					t.Fatalf("claim %s = %s decoded as %q, but is not a string", name, raw, got)
				}
			}
			if got != want {
				t.Fatalf("claim %s = %q, encoding/json reads %q (payload %q)", name, got, want, payload)
			}
		}
		for _, fs := range [][]int{p.ActorFacets, p.SubjectFacets} {
			if !slices.IsSorted(fs) || len(slices.Compact(slices.Clone(fs))) != len(fs) {
				t.Fatalf("facets %v are not a sorted set", fs)
			}
		}
		if p.DelegationDepth() > agentid.MaxDelegationDepth {
			t.Fatalf("delegation depth %d", p.DelegationDepth())
		}
		_ = p.String()
		_, _ = p.Claim("x")
	})
}

// encodeActChain nests chain back into an act claim.
func encodeActChain(chain []agentid.Actor) []byte {
	var v any
	for i := len(chain) - 1; i >= 0; i-- {
		m := map[string]any{"sub": chain[i].Subject, "iss": chain[i].Issuer, "client_id": chain[i].ClientID}
		if v != nil {
			m["act"] = v
		}
		v = m
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
