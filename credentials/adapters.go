package credentials

import (
	"context"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// TransportOption configures [NewTransport] and [NewPerRPCCredentials].
type TransportOption interface{ applyTransport(*transportConfig) }

type transportConfig struct {
	base     http.RoundTripper
	insecure bool
}

type transportOptionFunc func(*transportConfig)

func (f transportOptionFunc) applyTransport(c *transportConfig) { f(c) }

// insecureOption is WithInsecureHTTP: it configures sources and
// transports alike.
type insecureOption struct{}

func (insecureOption) apply(c *config)                   { c.insecure = true }
func (insecureOption) applyTransport(c *transportConfig) { c.insecure = true }

// WithBaseTransport sets the RoundTripper a [Transport] sends through.
// The default is http.DefaultTransport. A nil value is ignored.
func WithBaseTransport(rt http.RoundTripper) TransportOption {
	return transportOptionFunc(func(c *transportConfig) {
		if rt != nil {
			c.base = rt
		}
	})
}

func newTransportConfig(opts []TransportOption) *transportConfig {
	c := &transportConfig{base: http.DefaultTransport}
	for _, o := range opts {
		if o != nil {
			o.applyTransport(c)
		}
	}
	return c
}

// TokenSource returns an [oauth2.TokenSource] that gets the token of req
// from src, for libraries built on golang.org/x/oauth2. Since
// oauth2.TokenSource takes no context, each call is bounded by a
// 30-second timeout. src already caches: there is no need to wrap the
// result in oauth2.ReuseTokenSource.
func TokenSource(src Source, req Request) oauth2.TokenSource {
	return &tokenSource{src: src, req: req}
}

type tokenSource struct {
	src Source
	req Request
}

// String describes the token source without any token.
func (ts *tokenSource) String() string {
	return fmt.Sprintf("credentials.TokenSource{Scopes: %v}", ts.req.Scopes)
}

// Format prints String for every verb.
func (ts *tokenSource) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(ts.String())) }

// Token implements oauth2.TokenSource.
func (ts *tokenSource) Token() (*oauth2.Token, error) {
	ctx, cancel := context.WithTimeout(context.Background(), defaultTimeout)
	defer cancel()
	tok, err := ts.src.Token(ctx, ts.req)
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: tok.AccessToken(), TokenType: tok.Type(), Expiry: tok.ExpiresAt()}, nil
}

// PerRPCCredentials attaches a token from a [Source] to gRPC calls. It
// has the method set of google.golang.org/grpc/credentials.PerRPCCredentials
// without importing gRPC: pass it to grpc.WithPerRPCCredentials.
type PerRPCCredentials struct {
	src      Source
	req      Request
	insecure bool
}

// NewPerRPCCredentials returns per-RPC credentials for the token of req.
// They require transport security unless [WithInsecureHTTP] is given.
func NewPerRPCCredentials(src Source, req Request, opts ...TransportOption) *PerRPCCredentials {
	c := newTransportConfig(opts)
	return &PerRPCCredentials{src: src, req: req, insecure: c.insecure}
}

// GetRequestMetadata returns the "authorization" metadata of one call.
func (p *PerRPCCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := p.src.Token(ctx, p.req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": tok.Type() + " " + tok.AccessToken()}, nil
}

// RequireTransportSecurity reports whether the channel must be
// encrypted: true unless WithInsecureHTTP was given.
func (p *PerRPCCredentials) RequireTransportSecurity() bool { return !p.insecure }

// String describes p without any token.
func (p *PerRPCCredentials) String() string {
	return fmt.Sprintf("credentials.PerRPCCredentials{Scopes: %v}", p.req.Scopes)
}

// Format prints String for every verb.
func (p *PerRPCCredentials) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(p.String())) }
