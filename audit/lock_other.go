//go:build !unix

package audit

// lockDir does nothing where flock is not available: the caller must
// make sure that one process at a time uses a spool directory.
func lockDir(string) (func() error, error) { return func() error { return nil }, nil }
