package credentials

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEntraClouds(t *testing.T) {
	r := &resolver{}
	tests := []struct {
		name     string
		opts     []EntraOption
		tokenURL string
		audience string
	}{
		{"public", nil, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchange"},
		{"china", []EntraOption{WithCloud(AzureChina)}, "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchangeChina"},
		{"us government", []EntraOption{WithCloud(AzureUSGovernment)}, "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchangeUSGov"},
		{"france by host", []EntraOption{WithAuthorityHost("https://login.sovcloud-identity.fr/")}, "https://login.sovcloud-identity.fr/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchangeFrance"},
		{"germany", []EntraOption{WithCloud(AzureGermany)}, "https://login.sovcloud-identity.de/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchangeGermany"},
		{"unknown host", []EntraOption{WithAuthorityHost("https://login.example.com")}, "https://login.example.com/contoso.onmicrosoft.com/oauth2/v2.0/token", "api://AzureADTokenExchange"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := Entra("contoso.onmicrosoft.com", tt.opts...).resolve(context.Background(), r, "")
			if err != nil {
				t.Fatal(err)
			}
			got := []string{md.tokenURL, md.exchangeAudience, md.dialect.String()}
			if diff := cmp.Diff([]string{tt.tokenURL, tt.audience, "entra"}, got); diff != "" {
				t.Errorf("Entra(%s) mismatch (-want +got):\n%s", tt.name, diff)
			}
		})
	}
}

func TestEntraTenantOverride(t *testing.T) {
	a := Entra("home")
	md, err := a.resolve(context.Background(), &resolver{}, "guest-tenant")
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://login.microsoftonline.com/guest-tenant/oauth2/v2.0/token"; md.tokenURL != want {
		t.Errorf("tokenURL = %s, want %s", md.tokenURL, want)
	}
	if _, err := a.resolve(context.Background(), &resolver{}, "../evil"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("resolve(../evil) = %v, want ErrInvalidRequest", err)
	}
	if _, err := Entra("a/b").resolve(context.Background(), &resolver{}, ""); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Entra(a/b) = %v, want ErrInvalidRequest", err)
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		want     error
	}{
		{"https://login.example.com/token", false, nil},
		{"http://127.0.0.1:8080/token", false, nil},
		{"http://localhost/token", false, nil},
		{"http://[::1]:1/token", false, nil},
		{"http://login.example.com/token", false, ErrInsecureHTTP},
		{"http://login.example.com/token", true, nil},
		{"ftp://login.example.com/token", false, ErrInvalidRequest},
		{"/relative", false, ErrInvalidRequest},
	}
	for _, tt := range tests {
		err := (&resolver{insecure: tt.insecure}).checkURL(tt.url)
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("checkURL(%q, insecure=%v) = %v, want %v", tt.url, tt.insecure, err, tt.want)
		}
	}
}
