package credentials_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/agentpassport/passport/credentials"
)

// printed renders v in every way a program might print or log it.
func printed(v any) map[string]string {
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "value", v)
	out["slog JSON"] = buf.String()
	buf.Reset()
	slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "value", v)
	out["slog text"] = buf.String()
	if b, err := json.Marshal(v); err == nil {
		out["json.Marshal"] = string(b)
	}
	return out
}

func TestNothingSecretIsPrinted(t *testing.T) {
	key := newRSAKey(t)
	cert := newCert(t, key)
	a := agentidtest.NewAuthority(t)
	if err := a.RegisterClient(testClientID, agentidtest.WithSecret(testSecret)); err != nil {
		t.Fatal(err)
	}
	secret := mustSecret(t, testSecret)
	client, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(secret))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tok, err := client.Token(context.Background(), ordersRead)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := credentials.NewClient(entraAt(a), testClientID, credentials.ClientSecret(mustSecret(t, "wrong-"+testSecret)))
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	_, tokenErr := wrong.Token(context.Background(), ordersRead)
	if tokenErr == nil {
		t.Fatal("a wrong secret got a token")
	}

	userAssertion := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLXNlY3JldC1hc3NlcnRpb24ifQ.c2ln"
	exchange, err := credentials.NewTokenExchange(client, credentials.StaticToken(userAssertion, ""))
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		testSecret,
		userAssertion,
		tok.AccessToken(),
		key.D.String(),
		fmt.Sprintf("%x", key.D.Bytes()),
		key.Primes[0].String(),
	}
	values := map[string]any{
		"Secret":            secret,
		"*Secret":           &secret,
		"*Token":            tok,
		"Token":             *tok,
		"ClientSecret":      credentials.ClientSecret(secret),
		"PrivateKey":        credentials.PrivateKey(key),
		"Certificate":       credentials.Certificate([]*x509.Certificate{cert}, key),
		"AssertionFunc":     credentials.AssertionFunc(func(context.Context) (string, error) { return testSecret, nil }),
		"*Client":           client,
		"Transport":         credentials.NewTransport(client, ordersRead),
		"TokenSource":       credentials.TokenSource(client, ordersRead),
		"PerRPCCredentials": credentials.NewPerRPCCredentials(client, ordersRead),
		"token error":       tokenErr,
		"*OnBehalfOf":       client.OnBehalfOf(userAssertion),
		"*TokenExchange":    exchange,
		"[]any":             []any{secret, tok, client},
		"map":               map[string]any{"secret": secret, "token": tok},
		"struct":            struct{ S credentials.Secret }{secret},
	}
	for name, v := range values {
		for how, text := range printed(v) {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s printed with %s contains a secret: %s", name, how, text)
				}
			}
		}
	}
	if !strings.Contains(fmt.Sprint(secret), "REDACTED") || !strings.Contains(fmt.Sprint(tok), "REDACTED") {
		t.Errorf("redacted values should say so: %v, %v", secret, tok)
	}
}

func TestNewSecretRefusesEmpty(t *testing.T) {
	for _, s := range []string{"", " ", "\t\n"} {
		if _, err := credentials.NewSecret(s); err == nil {
			t.Errorf("NewSecret(%q) = nil error, want one", s)
		}
	}
	s, err := credentials.NewSecret("x")
	if err != nil || s.Reveal() != "x" {
		t.Errorf("NewSecret(%q) = %v, %v; want a secret revealing %q", "x", s, err, "x")
	}
}
