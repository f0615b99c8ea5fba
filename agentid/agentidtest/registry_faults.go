package agentidtest

import (
	"net/http"
	"time"
)

// faultKind is what a registry fault does to a request.
type faultKind int

const (
	faultThrottle faultKind = iota // 429 with Retry-After
	faultFail                      // an error status
	faultPartial                   // accepted with a partial success
)

// registryFault is a fault that the next requests get.
type registryFault struct {
	kind       faultKind
	remaining  int
	status     int
	retryAfter time.Duration
	rejected   int64
	message    string
}

// registryFaults holds the fault settings. It is guarded by Registry.mu.
type registryFaults struct {
	latency time.Duration
	queue   [3][]*registryFault // by faultKind, each in order of the calls
	verify  func(token string) error
}

// FailNext makes the next n export requests fail with status (for
// example 503 or 400), storing nothing. Calls queue: FailNext(2, 503)
// then FailNext(1, 400) fail two requests with 503, then one with 400.
// A status outside 400–599 is 500. FailNext does nothing if n ≤ 0.
func (r *Registry) FailNext(n, status int) {
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	r.queueFault(n, &registryFault{kind: faultFail, status: status})
}

// ThrottleNext makes the next n export requests get 429 Too Many
// Requests with a Retry-After of retryAfter in whole seconds, rounded
// up, storing nothing. Throttling applies before FailNext faults, and
// both before PartialSuccessNext. ThrottleNext does nothing if n ≤ 0.
func (r *Registry) ThrottleNext(n int, retryAfter time.Duration) {
	r.queueFault(n, &registryFault{kind: faultThrottle, retryAfter: retryAfter})
}

// PartialSuccessNext makes the next n accepted export requests answer
// with an OTLP partial success that rejected rejected spans, with
// message as error_message. The registry stores the spans of such a
// request except its last rejected ones. PartialSuccessNext does nothing
// if n ≤ 0.
func (r *Registry) PartialSuccessNext(n int, rejected int64, message string) {
	r.queueFault(n, &registryFault{kind: faultPartial, rejected: rejected, message: message})
}

func (r *Registry) queueFault(n int, f *registryFault) {
	if n <= 0 {
		return
	}
	f.remaining = n
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults.queue[f.kind] = append(r.faults.queue[f.kind], f)
}

// nextFault takes the fault the current request gets, or nil.
func (r *Registry) nextFault() *registryFault {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range []faultKind{faultThrottle, faultFail, faultPartial} {
		q := &r.faults.queue[k]
		if len(*q) == 0 {
			continue
		}
		f := (*q)[0]
		f.remaining--
		if f.remaining <= 0 {
			*q = (*q)[1:]
		}
		return f
	}
	return nil
}

// SetLatency makes every export request wait d, in real time, after its
// body is read and before it is answered. A request whose client goes
// away, or that is in flight when the registry goes down or is closed,
// stops waiting and is neither stored nor answered. The default is 0; a
// negative d is 0.
func (r *Registry) SetLatency(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults.latency = max(d, 0)
}

// wait waits for the latency; it reports false if the request ended
// first.
func (r *Registry) wait(req *http.Request) bool {
	r.mu.Lock()
	d := r.faults.latency
	r.mu.Unlock()
	ctx := req.Context()
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.ctx.Done():
		return false
	}
}

// RequireBearer makes the registry check the bearer token of every
// export request with verify, for example against an [Authority]'s
// JWKS; a request without a bearer token, or whose token verify refuses,
// gets 401 with WWW-Authenticate: Bearer error="invalid_token" and is not
// stored. RequireBearer(nil) turns the check off, the default.
func (r *Registry) RequireBearer(verify func(token string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.faults.verify = verify
}

func (r *Registry) verifier() func(string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.faults.verify
}
