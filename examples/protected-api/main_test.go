package main

import (
	"context"
	"testing"
	"time"
)

// TestRun runs the example end to end, so CI fails when it would.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := run(ctx); err != nil {
		t.Fatalf("run() = %v", err)
	}
}
