package oauth

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPeek(t *testing.T) {
	enc := func(s string) string { return "e30." + base64.RawURLEncoding.EncodeToString([]byte(s)) + ".c2ln" }
	tests := []struct {
		name    string
		token   string
		want    *Peeked
		wantErr bool
	}{
		{"entra user token", enc(`{"iss":"i","sub":"s","aud":"api://bp","exp":1700000000,"oid":"o","tid":"t","idtyp":"user","azp":"app","upn":"u@x"}`),
			&Peeked{Issuer: "i", Subject: "s", Audience: []string{"api://bp"}, Expiry: 1700000000, ObjectID: "o", TenantID: "t", IDType: "user", AppID: "app", UserName: "u@x"}, false},
		{"aud array, appid, preferred_username, may_act", enc(`{"aud":["a","b"],"appid":"x","preferred_username":"p","may_act":{"sub":"agent"}}`),
			&Peeked{Audience: []string{"a", "b"}, AppID: "x", UserName: "p", MayAct: &MayAct{Subject: "agent"}}, false},
		{"two segments", "a.b", nil, true},
		{"four segments", "a.b.c.d", nil, true},
		{"padded base64", "e30." + base64.URLEncoding.EncodeToString([]byte(`{"a":1}`)) + ".x", nil, true},
		{"array payload", enc(`[1]`), nil, true},
		{"aud number", enc(`{"aud":3}`), nil, true},
		{"exp string", enc(`{"exp":"x"}`), nil, true},
		{"exp negative", enc(`{"exp":-5}`), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Peek(tt.token)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Peek() error = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Peek() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
