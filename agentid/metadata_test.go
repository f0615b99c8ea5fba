package agentid_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/agentid"
)

func TestProtectedResourceMetadata(t *testing.T) {
	md := agentid.ProtectedResourceMetadata{
		Resource:             "https://orders.example/api",
		AuthorizationServers: []string{"https://login.example/contoso/v2.0"},
		ScopesSupported:      []string{"api://orders/.default"},
		ResourceName:         "Orders",
	}

	t.Run("GET", func(t *testing.T) {
		rec := httptest.NewRecorder()
		md.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agentid.WellKnownPath(md.Resource), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q, want application/json", ct)
		}
		if cc := rec.Header().Get("Cache-Control"); cc == "" {
			t.Errorf("no Cache-Control")
		}
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"resource":                 "https://orders.example/api",
			"authorization_servers":    []any{"https://login.example/contoso/v2.0"},
			"scopes_supported":         []any{"api://orders/.default"},
			"bearer_methods_supported": []any{"header"},
			"resource_name":            "Orders",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("document mismatch (-want +got):\n%s", diff)
		}
		if md.BearerMethodsSupported != nil {
			t.Errorf("ServeHTTP modified the metadata")
		}
	})
	t.Run("HEAD", func(t *testing.T) {
		rec := httptest.NewRecorder()
		md.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/", nil))
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
			t.Errorf("HEAD = %d with %d bytes, want 200 without a body", rec.Code, rec.Body.Len())
		}
	})
	t.Run("POST", func(t *testing.T) {
		rec := httptest.NewRecorder()
		md.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST = %d, Allow %q; want 405, GET, HEAD", rec.Code, rec.Header().Get("Allow"))
		}
	})
}

func TestWellKnownPath(t *testing.T) {
	tests := []struct {
		resource, want string
	}{
		{"https://api.example.com", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/", "/.well-known/oauth-protected-resource"},
		{"https://api.example.com/orders", "/.well-known/oauth-protected-resource/orders"},
		{"https://example.com/public/mcp", "/.well-known/oauth-protected-resource/public/mcp"},
		{"https://api.example.com/orders/", "/.well-known/oauth-protected-resource/orders/"},
		{"https://api.example.com/a%20b?x=1", "/.well-known/oauth-protected-resource/a%20b"},
		{"://bad", "/.well-known/oauth-protected-resource"},
	}
	for _, tt := range tests {
		if got := agentid.WellKnownPath(tt.resource); got != tt.want {
			t.Errorf("WellKnownPath(%q) = %q, want %q", tt.resource, got, tt.want)
		}
	}
}
