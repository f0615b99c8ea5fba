package oauth

import (
	"encoding/base64"
	"testing"
)

func FuzzPeek(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	f.Add("e30." + enc(`{"aud":"api://x","exp":1700000000,"oid":"u"}`) + ".sig")
	f.Add("e30." + enc(`{"aud":["a","b"],"exp":1.7e9}`) + ".x")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("e30." + enc(`{"exp":"soon"}`) + ".x")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := Peek(token)
		if err != nil {
			return
		}
		if p.Expiry < 0 {
			t.Fatalf("Peek(%q).Expiry = %d, want >= 0", token, p.Expiry)
		}
	})
}
