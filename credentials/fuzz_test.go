package credentials

import (
	"testing"
)

// FuzzDecodeStoredState feeds arbitrary plaintext to the decoder of
// store blobs: whatever comes back from a shared store is read with care.
func FuzzDecodeStoredState(f *testing.F) {
	f.Add([]byte(`{"at":"tok","tt":"Bearer","exp":1700000000000000,"ref":1699999000000000,"scp":["a"],"rt":"r"}`))
	f.Add([]byte(`{"at":"","exp":1}`))
	f.Add([]byte(`{"at":"x","exp":-1,"ref":-5}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"at":"x","exp":9223372036854775807,"ref":0}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		st, err := decodeStoredState(plain, 300_000_000)
		if err != nil {
			return
		}
		if st.tok == nil || st.tok.accessToken == "" || st.tok.tokenType == "" {
			t.Fatalf("decoded a state without a token: %+v", st)
		}
		if st.refreshAt > st.expiresAt {
			t.Fatalf("refreshAt %d after expiresAt %d", st.refreshAt, st.expiresAt)
		}
	})
}

// FuzzOpenSealedBlob feeds arbitrary blobs to the store reader: none may
// be accepted without the key, and none may panic.
func FuzzOpenSealedBlob(f *testing.F) {
	key := make([]byte, 32)
	cfg := &config{store: NewMemoryStore(), storeKey: key}
	s := cfg.sealedStore()
	f.Add([]byte{1, 2, 3})
	f.Add(make([]byte, 64))
	f.Add(append([]byte{blobVersion}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		if st, err := s.open("passport/v1/k", blob, 0); err == nil {
			t.Fatalf("an unsealed blob was accepted: %+v", st)
		}
	})
}
