package agentidtest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentpassport/passport/agentid/agentidtest"
	"github.com/google/go-cmp/cmp"
)

// outcomes sends n client credentials requests to a and returns their
// outcomes.
func outcomes(t *testing.T, a *agentidtest.Authority, n int) []outcome {
	t.Helper()
	var got []outcome
	for range n {
		got = append(got, postToken(t, a, secretForm("app", "s", "api://x/.default"), nil).outcome())
	}
	return got
}

func TestFailNext(t *testing.T) {
	tests := []struct {
		name   string
		inject func(a *agentidtest.Authority)
		want   []outcome
	}{
		{"two failures", func(a *agentidtest.Authority) {
			a.FailNext(2, http.StatusServiceUnavailable, agentidtest.OAuthError{Code: "temporarily_unavailable", Description: "down", ErrorCodes: []int{50001}})
		}, []outcome{
			{http.StatusServiceUnavailable, "temporarily_unavailable", []int{50001}},
			{http.StatusServiceUnavailable, "temporarily_unavailable", []int{50001}},
			ok,
		}},
		{"default codes", func(a *agentidtest.Authority) {
			a.FailNext(1, http.StatusInternalServerError, agentidtest.OAuthError{})
			a.FailNext(1, http.StatusBadRequest, agentidtest.OAuthError{})
		}, []outcome{
			{Status: http.StatusInternalServerError, Error: "server_error"},
			{Status: http.StatusBadRequest, Error: "invalid_request"},
			ok,
		}},
		{"policy denial", func(a *agentidtest.Authority) {
			a.FailNext(1, http.StatusBadRequest, agentidtest.OAuthError{Code: "invalid_grant", Description: "AADSTS53003: Access has been blocked by Conditional Access policies.", ErrorCodes: []int{53003}})
		}, []outcome{{http.StatusBadRequest, "invalid_grant", []int{53003}}, ok}},
		{"n of zero", func(a *agentidtest.Authority) {
			a.FailNext(0, http.StatusInternalServerError, agentidtest.OAuthError{})
		}, []outcome{ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agentidtest.NewAuthority(t)
			mustRegister(t, a, "app", agentidtest.WithSecret("s"))
			tt.inject(a)
			if diff := cmp.Diff(tt.want, outcomes(t, a, len(tt.want))); diff != "" {
				t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
			}
			if got := a.Requests("client_credentials"); got != len(tt.want) {
				t.Errorf("Requests(client_credentials) = %d, want %d", got, len(tt.want))
			}
		})
	}
}

func TestFailNextDescription(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	a.FailNext(1, http.StatusServiceUnavailable, agentidtest.OAuthError{Code: "temporarily_unavailable", Description: "down", ErrorCodes: []int{50001}})
	r := postToken(t, a, secretForm("app", "s", "api://x/.default"), nil)
	if want := "AADSTS50001: down\r\nTrace ID: "; !strings.HasPrefix(r.body.ErrorDescription, want) {
		t.Errorf("error_description = %q, want prefix %q", r.body.ErrorDescription, want)
	}
}

func TestThrottleNext(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		want       string
	}{
		{"whole seconds", 3 * time.Second, "3"},
		{"rounded up", 1500 * time.Millisecond, "2"},
		{"zero", 0, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := agentidtest.NewAuthority(t)
			mustRegister(t, a, "app", agentidtest.WithSecret("s"))
			a.ThrottleNext(1, tt.retryAfter)
			r := postToken(t, a, secretForm("app", "s", "api://x/.default"), nil)
			want := outcome{http.StatusTooManyRequests, "temporarily_unavailable", []int{90055}}
			if diff := cmp.Diff(want, r.outcome()); diff != "" {
				t.Errorf("throttled request mismatch (-want +got):\n%s", diff)
			}
			if got := r.header.Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestThrottleBeforeFailure(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	a.FailNext(1, http.StatusInternalServerError, agentidtest.OAuthError{})
	a.ThrottleNext(1, time.Second)
	want := []outcome{
		{http.StatusTooManyRequests, "temporarily_unavailable", []int{90055}},
		{Status: http.StatusInternalServerError, Error: "server_error"},
		ok,
	}
	if diff := cmp.Diff(want, outcomes(t, a, 3)); diff != "" {
		t.Errorf("outcomes mismatch (-want +got):\n%s", diff)
	}
}

func TestSetLatency(t *testing.T) {
	const d = 150 * time.Millisecond
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	a.SetLatency(d)
	a.ThrottleNext(1, time.Second)
	for _, want := range []int{http.StatusTooManyRequests, http.StatusOK} {
		start := time.Now()
		r := postToken(t, a, secretForm("app", "s", "api://x/.default"), nil)
		if took := time.Since(start); r.status != want || took < d {
			t.Errorf("with latency %v: status %d after %v, want %d after at least %v", d, r.status, took, want, d)
		}
	}

	// A client that gives up stops the wait; the request stays logged
	// without a status.
	a.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.TokenURL(), strings.NewReader(secretForm("app", "s", "api://x/.default").Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := a.HTTPClient().Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request with latency of an hour and a 50ms deadline succeeded")
	}
	if got := a.TokenRequests()[2].Status; got != 0 {
		t.Errorf("Status of abandoned request = %d, want 0", got)
	}
}

func TestCloseDuringLatency(t *testing.T) {
	a, err := agentidtest.StartAuthority()
	if err != nil {
		t.Fatal(err)
	}
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	a.SetLatency(time.Hour)
	errc := make(chan error, 1)
	go func() {
		resp, err := a.HTTPClient().PostForm(a.TokenURL(), secretForm("app", "s", "api://x/.default"))
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for deadline := time.Now().Add(5 * time.Second); a.Requests("") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the token request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	a.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close() with a request waiting took %v, want it to cancel the wait", took)
	}
	if err := <-errc; err == nil {
		t.Error("request in flight at Close got an answer, want a transport error")
	}
}

func TestTokenRequests(t *testing.T) {
	now := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	a := agentidtest.NewAuthority(t, agentidtest.WithClock(func() time.Time { return now }))
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	a.FailNext(1, http.StatusBadGateway, agentidtest.OAuthError{})
	forms := []url.Values{
		secretForm("app", "s", "api://x/.default"),
		secretForm("app", "s", "api://x/.default"),
		{"grant_type": {"password"}},
		{"client_id": {"app"}},
	}
	for _, f := range forms {
		postToken(t, a, f, http.Header{"Client-Request-Id": {"c-1"}})
	}

	counts := map[string]int{}
	for _, g := range []string{"", "client_credentials", "password", "refresh_token"} {
		counts[g] = a.Requests(g)
	}
	wantCounts := map[string]int{"": 4, "client_credentials": 2, "password": 1, "refresh_token": 0}
	if diff := cmp.Diff(wantCounts, counts); diff != "" {
		t.Errorf("Requests() mismatch (-want +got):\n%s", diff)
	}

	type entry struct {
		Time          time.Time
		Grant         string
		Form          url.Values
		RequestID     string
		Status        int
		HasFormHeader bool
	}
	var got []entry
	for _, tr := range a.TokenRequests() {
		got = append(got, entry{tr.Time, tr.Grant, tr.Form, tr.Header.Get("Client-Request-Id"), tr.Status,
			tr.Header.Get("Content-Type") == "application/x-www-form-urlencoded"})
	}
	want := []entry{
		{now, "client_credentials", forms[0], "c-1", http.StatusBadGateway, true},
		{now, "client_credentials", forms[1], "c-1", http.StatusOK, true},
		{now, "password", forms[2], "c-1", http.StatusBadRequest, true},
		{now, "", forms[3], "c-1", http.StatusBadRequest, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TokenRequests() mismatch (-want +got):\n%s", diff)
	}

	// The log holds copies.
	a.TokenRequests()[0].Form.Set("client_secret", "changed")
	if got := a.TokenRequests()[0].Form.Get("client_secret"); got != "s" {
		t.Errorf("TokenRequests()[0] after changing a copy has client_secret %q, want %q", got, "s")
	}
}

func TestReset(t *testing.T) {
	a := agentidtest.NewAuthority(t)
	mustRegister(t, a, "app", agentidtest.WithSecret("s"))
	outcomes(t, a, 2)
	a.FailNext(5, http.StatusInternalServerError, agentidtest.OAuthError{})
	a.ThrottleNext(5, time.Second)
	a.SetLatency(time.Hour)
	a.Reset()
	if n, log := a.Requests(""), a.TokenRequests(); n != 0 || len(log) != 0 {
		t.Errorf("after Reset: Requests(\"\") = %d, len(TokenRequests()) = %d, want 0, 0", n, len(log))
	}
	if diff := cmp.Diff([]outcome{ok}, outcomes(t, a, 1)); diff != "" {
		t.Errorf("outcome after Reset mismatch (-want +got):\n%s", diff)
	}
}
