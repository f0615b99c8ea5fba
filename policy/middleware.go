package policy

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"

	"github.com/agentpassport/passport/agentid"
)

// MiddlewareOption configures [Middleware].
type MiddlewareOption interface{ applyMiddleware(*middlewareConfig) }

type middlewareConfig struct {
	resource func(*http.Request) Resource
}

type middlewareOptionFunc func(*middlewareConfig)

func (f middlewareOptionFunc) applyMiddleware(c *middlewareConfig) { f(c) }

// WithResource sets how the middleware names the resource of a request.
// The default is API(api) for every request, api being Middleware's
// argument. f must return an Api resource.
func WithResource(f func(r *http.Request) Resource) MiddlewareOption {
	return middlewareOptionFunc(func(c *middlewareConfig) {
		if f != nil {
			c.resource = f
		}
	})
}

// Middleware returns HTTP middleware that decides every request with d
// before the handler runs: may the caller call_api on Api::"<api>"? It
// goes after [agentid.Middleware], whose [agentid.Principal] it reads
// ([agentid.FromContext]) and turns into the subject ([FromPrincipal]),
// with the client address as context.source_ip and the method and path
// as context.http. Name the API as the agents name it when they get a
// token for it ([TokenHook]), e.g. "api://orders", so that one policy
// reads the same on both sides.
//
// An allowed request reaches the handler with the subject in its context
// ([NewContext]), so that [Guard]ed tools called by the handler are
// decided for the caller. Otherwise the middleware answers, with a small
// JSON body ({"error": …, "error_description": …}) that names no policy,
// argument or token:
//
//   - 403 access_denied when d denies the request, or cannot decide it
//     for the caller ([ErrInvalidRequest]: a token that names no agent);
//   - 500 server_error when the context has no Principal (the middleware
//     is not behind agentid.Middleware), or d fails;
//   - 503 temporarily_unavailable when d is closed.
func Middleware(d Decider, api string, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	cfg := middlewareConfig{resource: func(*http.Request) Resource { return API(api) }}
	for _, o := range opts {
		if o != nil {
			o.applyMiddleware(&cfg)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := agentid.FromContext(r.Context())
			if !ok {
				writeError(w, http.StatusInternalServerError, "server_error", "The caller is not authenticated.")
				return
			}
			s := FromPrincipal(p)
			s.SourceIP = remoteAddr(r)
			req := Request{
				Subject:  s,
				Action:   CallAPI,
				Resource: cfg.resource(r),
				HTTP:     &HTTPInfo{Method: r.Method, Path: r.URL.Path},
			}
			dec, err := d.Decide(r.Context(), req)
			switch {
			case errors.Is(err, ErrClosed):
				writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The request cannot be authorized now.")
			case errors.Is(err, ErrInvalidRequest):
				writeError(w, http.StatusForbidden, "access_denied", "The caller is not an agent the policy can decide for.")
			case err != nil:
				writeError(w, http.StatusInternalServerError, "server_error", "The request could not be authorized.")
			case !dec.Allow:
				writeError(w, http.StatusForbidden, "access_denied", "The request is denied by policy.")
			default:
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), s)))
			}
		})
	}
}

// remoteAddr is the client address of r; invalid when unknown.
func remoteAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
