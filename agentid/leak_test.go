package agentid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid"
)

// TestNoTokenLeak: no error, no printed or logged or marshalled Principal
// and no middleware answer contains the token or its signature.
func TestNoTokenLeak(t *testing.T) {
	a := newAuthority(t)
	v := newVerifier(t, a.Issuer())
	now := time.Now()
	tokens := map[string]string{}
	for _, k := range []agentTokenKind{tokenAutonomous, tokenOBO, tokenAgentUser, tokenExchange} {
		tokens[string(k)] = issueAgentToken(t, a, k, now)
	}
	tokens["expired"] = issueAgentToken(t, a, tokenOBO, now.Add(-3*time.Hour))
	tokens["tampered"] = tokens[string(tokenOBO)][:len(tokens[string(tokenOBO)])-6] + "AAAAAA"

	for name, tok := range tokens {
		t.Run(name, func(t *testing.T) {
			sig := tok[strings.LastIndexByte(tok, '.')+1:]
			var outputs []string
			p, err := v.Verify(context.Background(), tok)
			if err != nil {
				outputs = append(outputs, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
			} else {
				var logs bytes.Buffer
				slog.New(slog.NewJSONHandler(&logs, nil)).Info("call", "principal", p, "value", *p)
				js, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				outputs = append(outputs,
					fmt.Sprintf("%v", p), fmt.Sprintf("%+v", p), fmt.Sprintf("%#v", p), fmt.Sprintf("%q", p),
					fmt.Sprintf("%v", *p), fmt.Sprintf("%+v", *p), fmt.Sprintf("%#v", *p),
					logs.String(), string(js))
			}
			rec := httptest.NewRecorder()
			agentid.Middleware(v, agentid.WithResourceMetadataURL("https://r.example/md"))(
				http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).
				ServeHTTP(rec, bearer(httptest.NewRequest(http.MethodGet, "/", nil), tok))
			outputs = append(outputs, rec.Body.String(), fmt.Sprint(rec.Header()))
			for _, out := range outputs {
				if strings.Contains(out, tok) || strings.Contains(out, sig) {
					t.Errorf("output contains the token: %s", out)
				}
			}
		})
	}
}

// TestCloseLeavesNoGoroutine: after Close, no goroutine of the Verifier
// or of its jwk.Cache is left.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	ti := newTestIssuer(t)
	v, err := agentid.NewVerifier(context.Background(), ti.Issuer(), agentid.WithAudience(testAudience), agentid.WithTokenCache(10))
	if err != nil {
		t.Fatal(err)
	}
	// An unknown kid starts a refresh goroutine too.
	_, _ = v.Verify(context.Background(), signJWT(t, map[string]any{"alg": "RS256", "kid": "unknown"}, ti.claims(time.Now(), nil), "RS256", ti.rsaKey))
	if _, err := v.Verify(context.Background(), ti.token(t, "RS256", ti.claims(time.Now(), nil), nil)); err != nil {
		t.Fatal(err)
	}
	if left := ours(); left == "" {
		t.Fatalf("no goroutine of the Verifier found before Close: the check is blind")
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := ours()
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left after Close:\n%s", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ours returns the stacks of the goroutines running code of this package
// (not its tests) or of httprc.
func ours() string {
	runtime.GC()
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
	var found []string
	for g := range strings.SplitSeq(buf.String(), "\n\n") {
		if strings.Contains(g, "lestrrat-go/httprc") || strings.Contains(g, "passport/agentid.") {
			found = append(found, g)
		}
	}
	return strings.Join(found, "\n\n")
}
