package agentidtest

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// TokenRequest is a copy of one request received by a token endpoint, as
// returned by [Authority.TokenRequests]. It holds the request's secrets and
// assertions as sent: it is for tests only.
type TokenRequest struct {
	// Time is when the request was received, read from the clock of
	// [WithClock].
	Time time.Time
	// Grant is the form's grant_type; it is empty when absent.
	Grant string
	// Form is the parsed form body. It is empty when the body was not a
	// well-formed application/x-www-form-urlencoded form.
	Form url.Values
	// Header is the request's header.
	Header http.Header
	// Status is the HTTP status answered, or 0 while the request is still
	// being answered or when it was abandoned before an answer.
	Status int
}

// pendingFault is a fault that the next token requests get.
type pendingFault struct {
	remaining  int
	status     int
	body       OAuthError
	retryAfter time.Duration
}

// faultState holds the fault injection settings and the request log.
type faultState struct {
	mu        sync.Mutex      // guards latency, throttles, failures and log
	latency   time.Duration   // how long each token request waits
	throttles []*pendingFault // from ThrottleNext, in order
	failures  []*pendingFault // from FailNext, in order
	log       []*TokenRequest // every token request, in order of arrival
}

// record logs a request and returns its entry, whose Status the caller
// sets with done.
func (f *faultState) record(at time.Time, form url.Values, header http.Header) *TokenRequest {
	tr := &TokenRequest{Time: at, Grant: form.Get("grant_type"), Form: form, Header: header.Clone()}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, tr)
	return tr
}

// done sets the status answered to the request logged as tr.
func (f *faultState) done(tr *TokenRequest, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tr.Status = status
}

// wait waits for the configured latency. It reports false if ctx ended
// first.
func (f *faultState) wait(ctx context.Context) bool {
	f.mu.Lock()
	d := f.latency
	f.mu.Unlock()
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
	}
}

// next takes the fault the current request gets, throttling first, or
// returns nil for none.
func (f *faultState) next() *tokenError {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := take(&f.throttles); p != nil {
		secs := int64((p.retryAfter + time.Second - 1) / time.Second)
		return throttled(max(secs, 0))
	}
	if p := take(&f.failures); p != nil {
		return injectedError(p.status, p.body)
	}
	return nil
}

// take uses one request of the first pending fault in q.
func take(q *[]*pendingFault) *pendingFault {
	if len(*q) == 0 {
		return nil
	}
	p := (*q)[0]
	p.remaining--
	if p.remaining <= 0 {
		*q = (*q)[1:]
	}
	return p
}

// FailNext makes the next n token requests fail with status and a body
// rendered from oauthErr as described at [OAuthError]. A status outside
// 100–999 is answered as 500. Calls queue: faults from a later call apply
// after those of earlier calls are used up. Failed requests are still
// counted and logged. Pending throttling ([Authority.ThrottleNext]) applies
// first. FailNext does nothing if n ≤ 0. It is safe for concurrent use.
func (a *Authority) FailNext(n int, status int, oauthErr OAuthError) {
	if n <= 0 {
		return
	}
	oauthErr.ErrorCodes = slices.Clone(oauthErr.ErrorCodes)
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	a.faults.failures = append(a.faults.failures, &pendingFault{remaining: n, status: status, body: oauthErr})
}

// ThrottleNext makes the next n token requests get 429 Too Many Requests
// with header Retry-After set to retryAfter in whole seconds, rounded up,
// and an Entra-shaped temporarily_unavailable body. Calls queue as those
// of [Authority.FailNext] do, and throttling applies before FailNext
// faults. ThrottleNext does nothing if n ≤ 0. It is safe for concurrent
// use.
func (a *Authority) ThrottleNext(n int, retryAfter time.Duration) {
	if n <= 0 {
		return
	}
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	a.faults.throttles = append(a.faults.throttles, &pendingFault{remaining: n, retryAfter: retryAfter})
}

// SetLatency makes every token request wait d, in real time, before it is
// answered (before any fault). A request whose client goes away, or that
// is in flight when the Authority is closed, stops waiting and gets no
// answer. The default is 0; a negative d is 0. It is safe for concurrent
// use.
func (a *Authority) SetLatency(d time.Duration) {
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	a.faults.latency = max(d, 0)
}

// Requests returns how many token requests with grant_type grant were
// received since start or the last [Authority.Reset], including those that
// failed. Requests("") counts every token request. Requests with a method
// other than POST are answered 405 and not counted. It is safe for
// concurrent use.
func (a *Authority) Requests(grant string) int {
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	if grant == "" {
		return len(a.faults.log)
	}
	n := 0
	for _, tr := range a.faults.log {
		if tr.Grant == grant {
			n++
		}
	}
	return n
}

// TokenRequests returns copies of every token request received since
// start or the last [Authority.Reset], in order of arrival. It is safe for
// concurrent use.
func (a *Authority) TokenRequests() []TokenRequest {
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	out := make([]TokenRequest, len(a.faults.log))
	for i, tr := range a.faults.log {
		out[i] = *tr
		out[i].Form = cloneValues(tr.Form)
		out[i].Header = tr.Header.Clone()
	}
	return out
}

// Reset clears the request counters and log, pending faults and latency.
// Registered clients, tenants, keys and the record of client assertion
// ids already used are kept. It is safe for concurrent
// use; requests in flight finish as they started.
func (a *Authority) Reset() {
	a.faults.mu.Lock()
	defer a.faults.mu.Unlock()
	a.faults.latency = 0
	a.faults.throttles = nil
	a.faults.failures = nil
	a.faults.log = nil
}

// cloneValues returns a deep copy of v.
func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
