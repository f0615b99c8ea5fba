package audit

import (
	"encoding/binary"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzSpoolRecovery opens a spool whose one segment file holds arbitrary
// bytes: opening never fails or panics on the content, and every record
// it yields is whole and checksummed, as verified here from the raw
// bytes, independently of the spool's own checks.
func FuzzSpoolRecovery(f *testing.F) {
	rec := func(path string, data string) []byte {
		r, err := encodeRecord(&body{path: path, spans: 3, enc: EncodingProtobuf, data: []byte(data)})
		if err != nil {
			f.Fatal(err)
		}
		return r
	}
	a, b := rec("/v1/traces", "first body"), rec("/observability/tenants/t/otlp/agents/a/traces?api-version=1", "second")
	f.Add(append(append([]byte{}, a...), b...))
	f.Add(append(append([]byte{}, a...), b[:len(b)-3]...))
	f.Add(append(append([]byte("garbage"), a...), b...))
	flipped := append(append([]byte{}, a...), b...)
	flipped[len(a)+recordHeader+2] ^= 1
	f.Add(flipped)
	f.Add([]byte(recordMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		name := filepath.Join(dir, "spool-0000000000000001.log")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, torn, err := openSpool(dir, 64<<20, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("openSpool: %v", err)
		}
		defer s.close()
		if torn < 0 {
			t.Fatalf("torn = %d", torn)
		}
		for _, ref := range s.queue {
			end := ref.off + ref.size
			if ref.off < 0 || end > int64(len(data)) || ref.size < recordHeader {
				t.Fatalf("record at %d+%d outside the %d-byte file", ref.off, ref.size, len(data))
			}
			raw := data[ref.off:end]
			n := binary.BigEndian.Uint32(raw[4:8])
			crc := crc32.Update(crc32.Update(0, crc32.MakeTable(crc32.Castagnoli), raw[4:8]), crc32.MakeTable(crc32.Castagnoli), raw[recordHeader:])
			if string(raw[:4]) != recordMagic || int64(n)+recordHeader != ref.size || binary.BigEndian.Uint32(raw[8:12]) != crc {
				t.Fatalf("record at %d yielded with a bad header or checksum", ref.off)
			}
			if _, err := s.read(ref); err != nil {
				t.Fatalf("read of a yielded record: %v", err)
			}
		}
		if pending, size := s.usage(); pending < 0 || size > int64(len(data)) {
			t.Fatalf("usage = %d spans, %d bytes for a %d-byte file", pending, size, len(data))
		}
	})
}

// FuzzScrub checks that scrub never panics, is idempotent, and leaves no
// JWT and no Bearer credential behind.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"", "plain text", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "x eyJabcdefgh.eyJ.. y",
		"Authorization: Bearer abc.def-ghi", "BEARER   tok", "bearer", "eyJ", "aeyJhbGciOiJ.eyJ.x",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := scrub(s)
		if again := scrub(out); again != out {
			t.Fatalf("scrub is not idempotent: %q -> %q -> %q", s, out, again)
		}
		for i := range len(out) {
			if jwtAt(out, i) > 0 {
				t.Fatalf("scrub(%q) = %q still holds a JWT at %d", s, out, i)
			}
			if _, end := bearerAt(out, i); end > 0 && !strings.HasPrefix(out[end-len(Redacted):end], Redacted) {
				t.Fatalf("scrub(%q) = %q still holds a Bearer credential at %d", s, out, i)
			}
		}
	})
}

// FuzzPartialSuccess feeds arbitrary answers to the parsers of OTLP
// responses: they never panic.
func FuzzPartialSuccess(f *testing.F) {
	f.Add([]byte{0x0a, 0x05, 0x08, 0x02, 0x12, 0x01, 'x'}, false)
	f.Add([]byte(`{"partialSuccess":{"rejectedSpans":"2","errorMessage":"x"}}`), true)
	f.Add([]byte(`{"partial_success":{"rejected_spans":3}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, asJSON bool) {
		ct := contentTypeProtobuf
		if asJSON {
			ct = contentTypeJSON
		}
		_, _ = parsePartialSuccess(ct, EncodingProtobuf, data)
	})
}
