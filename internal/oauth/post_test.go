package oauth_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/agentpassport/passport/internal/oauth"
)

const (
	// formSecret is sent as client_secret; no error may contain it.
	formSecret = "Zx9~s3cr3t.client-secret_value"
	// headerSecret is sent in the Authorization header; no error may
	// contain it either.
	headerSecret = "Basic aGVhZGVyLXNlY3JldDp2YWx1ZQ=="
	// requestID is the client-request-id sent with every request.
	requestID = "5e2f8a4c-1b3d-4e6f-8a9b-0c1d2e3f4a5b"
)

// newTokenServer starts a token endpoint running h and closes it when the
// test ends.
func newTokenServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func testForm() url.Values {
	return url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"00000000-0000-0000-0000-000000000001"},
		"client_secret": {formSecret},
		"scope":         {"https://graph.microsoft.com/.default openid"},
	}
}

func testHeader() http.Header {
	h := http.Header{}
	h.Set("client-request-id", requestID)
	h.Set("Authorization", headerSecret)
	h.Add("X-Client-SKU", "passport.go")
	h.Add("X-Client-SKU", "second value")
	return h
}

// post runs Post with the secret-bearing form and header, and checks that
// a returned error never names either secret.
func post(t *testing.T, ctx context.Context, hc *http.Client, tokenURL string) (*oauth.Response, error) {
	t.Helper()
	resp, err := oauth.Post(ctx, hc, tokenURL, testForm(), testHeader())
	if err != nil {
		msg := err.Error()
		for _, s := range []string{formSecret, url.QueryEscape(formSecret), headerSecret} {
			if strings.Contains(msg, s) {
				t.Errorf("Post(...) error %q contains the secret %q", msg, s)
			}
		}
	}
	return resp, err
}

type received struct {
	Method string
	Path   string
	Form   url.Values
	Header map[string][]string
	Query  string
}

func TestPost(t *testing.T) {
	got := make(chan received, 1)
	srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm() = %v", err)
		}
		got <- received{
			Method: r.Method,
			Path:   r.URL.Path,
			Form:   r.PostForm,
			Query:  r.URL.RawQuery,
			Header: map[string][]string{
				"Content-Type":      r.Header.Values("Content-Type"),
				"Accept":            r.Header.Values("Accept"),
				"Client-Request-Id": r.Header.Values("Client-Request-Id"),
				"Authorization":     r.Header.Values("Authorization"),
				"X-Client-Sku":      r.Header.Values("X-Client-Sku"),
			},
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, `{"token_type":"Bearer","scope":"https://graph.microsoft.com/.default","expires_in":3599,"ext_expires_in":3599,"refresh_in":1799,"access_token":"`+testAccessToken+`"}`)
	})

	header := testHeader()
	// Caller headers must not override the wire format, nor be changed.
	header.Set("Content-Type", "text/plain")
	header.Set("Accept", "text/html")
	headerBefore := header.Clone()

	resp, err := oauth.Post(t.Context(), srv.Client(), srv.URL+"/tenant/oauth2/v2.0/token", testForm(), header)
	if err != nil {
		t.Fatalf("Post(...) = %v, want no error", err)
	}
	want := &oauth.Response{
		AccessToken:  testAccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    3599,
		ExtExpiresIn: 3599,
		RefreshIn:    1799,
		Scope:        "https://graph.microsoft.com/.default",
	}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("Post(...) mismatch (-want +got):\n%s", diff)
	}

	wantReq := received{
		Method: http.MethodPost,
		Path:   "/tenant/oauth2/v2.0/token",
		Form:   testForm(),
		Header: map[string][]string{
			"Content-Type":      {"application/x-www-form-urlencoded"},
			"Accept":            {"application/json"},
			"Client-Request-Id": {requestID},
			"Authorization":     {headerSecret},
			"X-Client-Sku":      {"passport.go", "second value"},
		},
	}
	if diff := cmp.Diff(wantReq, <-got); diff != "" {
		t.Errorf("Post(...) request mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(headerBefore, header); diff != "" {
		t.Errorf("Post(...) changed the caller's header (-want +got):\n%s", diff)
	}
}

func TestPostStatusError(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    *oauth.StatusError
	}{
		{
			name: "400 Entra body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, entraErrorBody)
			},
			want: &oauth.StatusError{StatusCode: http.StatusBadRequest, OAuth: entraError, RequestID: requestID},
		},
		{
			name: "401 echoing the secret",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":"invalid_client","error_description":"bad secret `+r.FormValue("client_secret")+` for `+r.Header.Get("Authorization")+`"}`)
			},
			want: &oauth.StatusError{
				StatusCode: http.StatusUnauthorized,
				OAuth: &oauth.ErrorResponse{
					Code:        "invalid_client",
					Description: "bad secret " + formSecret + " for " + headerSecret,
				},
				RequestID: requestID,
			},
		},
		{
			name: "429 with Retry-After",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, "Too Many Requests")
			},
			want: &oauth.StatusError{StatusCode: http.StatusTooManyRequests, RetryAfter: 7 * time.Second, RequestID: requestID},
		},
		{
			name: "503 with a huge Retry-After and an Entra body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "86400")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":"temporarily_unavailable","error_codes":[50196]}`)
			},
			want: &oauth.StatusError{
				StatusCode: http.StatusServiceUnavailable,
				RetryAfter: time.Hour,
				OAuth:      &oauth.ErrorResponse{Code: "temporarily_unavailable", ErrorCodes: []int{50196}},
				RequestID:  requestID,
			},
		},
		{
			name: "304 not a success",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotModified)
			},
			want: &oauth.StatusError{StatusCode: http.StatusNotModified, RequestID: requestID},
		},
		{
			name: "500 empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			},
			want: &oauth.StatusError{StatusCode: http.StatusInternalServerError, RequestID: requestID},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTokenServer(t, tt.handler)
			resp, err := post(t, t.Context(), srv.Client(), srv.URL)
			if resp != nil {
				t.Errorf("Post(...) = %+v, want nil", resp)
			}
			var se *oauth.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("Post(...) error = %T (%v), want a *StatusError", err, err)
			}
			if diff := cmp.Diff(tt.want, se); diff != "" {
				t.Errorf("Post(...) error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPostBodyLimit(t *testing.T) {
	// A valid response of exactly MaxResponseBytes, padded with an
	// unknown member.
	prefix := `{"access_token":"` + testAccessToken + `","token_type":"Bearer","pad":"`
	exact := prefix + strings.Repeat("a", oauth.MaxResponseBytes-len(prefix)-2) + `"}`

	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{name: "exactly the limit", status: http.StatusOK, body: exact},
		{name: "one byte over", status: http.StatusOK, body: exact + " ", wantErr: oauth.ErrTooLarge},
		{name: "far over", status: http.StatusOK, body: strings.Repeat(" ", 3*oauth.MaxResponseBytes), wantErr: oauth.ErrTooLarge},
		{name: "error status over", status: http.StatusBadRequest, body: strings.Repeat("x", oauth.MaxResponseBytes+1), wantErr: oauth.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			resp, err := post(t, t.Context(), srv.Client(), srv.URL)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Post(...) error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && resp.AccessToken != testAccessToken {
				t.Errorf("Post(...).AccessToken = %q, want %q", resp.AccessToken, testAccessToken)
			}
		})
	}
}

func TestPostParseError(t *testing.T) {
	srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"access_token":"`+testAccessToken+`","token_type":"mac","client_secret":"`+r.FormValue("client_secret")+`"}`)
	})
	_, err := post(t, t.Context(), srv.Client(), srv.URL)
	var pe *oauth.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("Post(...) error = %T (%v), want a *ParseError", err, err)
	}
	if pe.Field != "token_type" {
		t.Errorf("Post(...) error Field = %q, want %q", pe.Field, "token_type")
	}
	if strings.Contains(err.Error(), testAccessToken) {
		t.Errorf("Post(...) error %q contains the access token", err)
	}
}

func TestPostTransportError(t *testing.T) {
	short := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, `{"access_token":`)
	})

	// A port that was just listened on and closed refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/token"
	ln.Close()

	tests := []struct {
		name string
		url  string
	}{
		{name: "connection refused", url: refused},
		{name: "connection refused with query and user info", url: "http://user:" + formSecret + "@" + ln.Addr().String() + "/token?client_secret=" + formSecret},
		{name: "body cut short", url: short.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := post(t, t.Context(), http.DefaultClient, tt.url)
			var te *oauth.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("Post(...) error = %T (%v), want a *TransportError", err, err)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Post(...) error = %v, want no context error", err)
			}
		})
	}
}

func TestPostContext(t *testing.T) {
	tests := []struct {
		name    string
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		body    bool // whether the slow server sends the header and part of the body first
		wantErr error
	}{
		{
			name: "cancelled while waiting for the header",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
		{
			name: "cancelled while reading the body",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				time.AfterFunc(50*time.Millisecond, cancel)
				return ctx, cancel
			},
			body:    true,
			wantErr: context.Canceled,
		},
		{
			name: "deadline while waiting for the header",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(parent, 50*time.Millisecond)
			},
			wantErr: context.DeadlineExceeded,
		},
		{
			name: "already cancelled",
			ctx: func(parent context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(parent)
				cancel()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				// Reading the whole request lets the server notice the
				// client going away, which ends r.Context().
				io.Copy(io.Discard, r.Body)
				if tt.body {
					w.Header().Set("Content-Length", "1000")
					io.WriteString(w, `{"access_token":"`)
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
			})
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()
			start := time.Now()
			_, err := post(t, ctx, srv.Client(), srv.URL)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Post(...) error = %T (%v), want %v", err, err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("Post(...) returned after %v, want soon after the context ended", elapsed)
			}
		})
	}
}
