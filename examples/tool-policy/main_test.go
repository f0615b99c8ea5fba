package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	var buf bytes.Buffer
	out = &buf
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatalf("run() error = %v\n%s", err, buf.String())
	}
	for _, want := range []string{
		"decision: allow by [support-tools]\n  lookup_order: order o-1001: shipped",
		"decision: allow (report_only, would deny) by [trial-internal-email-only]\n  send_email: email sent to customer@example.com",
		"decision: deny by [email-rate-limit]\n  send_email: refused (email-rate-limit)",
		"decision: deny by [no-risky-tools-at-risk]\n  issue_refund: refused (no-risky-tools-at-risk)",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("run() output does not contain %q:\n%s", want, buf.String())
		}
	}
}
