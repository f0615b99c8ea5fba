package credentials

import (
	"errors"
	"fmt"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret is a client secret (or any other credential string) that never
// prints itself: String, GoString, LogValue and MarshalJSON all give
// "[REDACTED]". The raw value is only available through [Secret.Reveal].
//
// The zero Secret is empty and is refused wherever a secret is required.
// A Secret is immutable and safe to share between goroutines.
type Secret struct {
	v string
}

// NewSecret returns a Secret holding s. It fails when s is empty or only
// white space, so a missing environment variable is caught at start-up
// rather than on the first token request.
func NewSecret(s string) (Secret, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return Secret{v: s}, nil
		}
	}
	return Secret{}, errors.New("credentials: empty secret")
}

// Reveal returns the raw secret. Call it only to put the value on the
// wire; never log it.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether s holds no value.
func (s Secret) IsZero() bool { return s.v == "" }

// String returns "[REDACTED]".
func (s Secret) String() string { return redacted }

// GoString returns "[REDACTED]", so %#v does not print the value.
func (s Secret) GoString() string { return redacted }

// LogValue returns "[REDACTED]" for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON returns the JSON string "[REDACTED]".
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Format makes every fmt verb, %x and %q included, print "[REDACTED]".
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }
