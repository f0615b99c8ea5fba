package credentials

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/agentpassport/passport/internal/oauth"
)

// Transport is an [http.RoundTripper] that sends each request with a
// bearer token from a [Source].
//
// It never changes the caller's request (it sends a clone), and refuses
// to send a token over plain http except to a loopback host or with
// [WithInsecureHTTP]. When the server answers 401 with a Bearer challenge
// of error="invalid_token", the token is invalidated (if the Source is an
// [Invalidator]) and the request is sent once more with a new token; a
// claims challenge (error="insufficient_claims" with claims=…, as sent by
// Entra for continuous access evaluation) is answered the same way with a
// token for those claims. The retry needs the request body again, so it
// happens only for requests without a body or with GetBody set (as
// http.NewRequest sets for in-memory bodies).
//
// A Transport is safe for concurrent use.
type Transport struct {
	src  Source
	req  Request
	base http.RoundTripper
	cfg  *transportConfig
}

var _ http.RoundTripper = (*Transport)(nil)

// NewTransport returns a Transport that attaches tokens for req.
func NewTransport(src Source, req Request, opts ...TransportOption) *Transport {
	cfg := newTransportConfig(opts)
	return &Transport{src: src, req: req, base: cfg.base, cfg: cfg}
}

// String describes t without any token.
func (t *Transport) String() string {
	return fmt.Sprintf("credentials.Transport{Scopes: %v}", t.req.Scopes)
}

// Format prints String for every verb.
func (t *Transport) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(t.String())) }

// RoundTrip implements [http.RoundTripper].
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.checkScheme(r); err != nil {
		closeBody(r)
		return nil, err
	}
	tok, err := t.src.Token(r.Context(), t.req)
	if err != nil {
		closeBody(r)
		return nil, err
	}
	resp, err := t.send(r, r.Body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	replayable := r.Body == nil || r.Body == http.NoBody || r.GetBody != nil
	if !replayable {
		return resp, nil
	}
	next, ok := t.challenged(resp, tok)
	if !ok {
		return resp, nil
	}
	body := r.Body
	if r.GetBody != nil {
		if body, err = r.GetBody(); err != nil {
			return resp, nil
		}
	}
	tok2, err := t.src.Token(r.Context(), next)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return resp, nil
	}
	drain(resp)
	return t.send(r, body, tok2)
}

// send sends a clone of r with body and the token.
func (t *Transport) send(r *http.Request, body io.ReadCloser, tok *Token) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Body = body
	tok.SetAuthHeader(r2)
	return t.base.RoundTrip(r2)
}

// challenged reads a 401's WWW-Authenticate. It returns the request for a
// new token, and whether to retry: after invalidating an invalid_token,
// or with the claims of a claims challenge.
func (t *Transport) challenged(resp *http.Response, tok *Token) (Request, bool) {
	for _, h := range resp.Header.Values("WWW-Authenticate") {
		challenges, err := oauth.ParseChallenges(h)
		if err != nil {
			continue
		}
		for _, c := range challenges {
			if !strings.EqualFold(c.Scheme, "Bearer") {
				continue
			}
			if claims, ok := decodeClaims(c.Params["claims"]); ok && (c.Params["error"] == "insufficient_claims" || c.Params["error"] == "invalid_token") {
				// The token in the cache fails the challenge too: drop it, so
				// later requests do not meet the same 401.
				if inv, ok := t.src.(Invalidator); ok {
					inv.Invalidate(t.req, tok)
				}
				next := t.req
				next.Claims = claims
				return next, true
			}
			if c.Params["error"] == "invalid_token" {
				if inv, ok := t.src.(Invalidator); ok {
					inv.Invalidate(t.req, tok)
					return t.req, true
				}
			}
		}
	}
	return Request{}, false
}

// decodeClaims decodes a claims challenge: base64 (standard or URL, with
// or without padding) of a JSON object.
func decodeClaims(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && json.Valid(b) && len(b) > 0 && b[0] == '{' {
			return string(b), true
		}
	}
	return "", false
}

func (t *Transport) checkScheme(r *http.Request) error {
	if r.URL == nil {
		return fmt.Errorf("%w: request without URL", ErrInvalidRequest)
	}
	switch {
	case r.URL.Scheme == "https":
		return nil
	case r.URL.Scheme == "http" && (t.cfg.insecure || isLoopback(r.URL.Hostname())):
		return nil
	}
	return fmt.Errorf("%w: %s://%s", ErrInsecureHTTP, r.URL.Scheme, r.URL.Host)
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// drain reads a little of a response body, so its connection can be
// reused, and closes it.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
}
