package credentials

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Store is a shared second-level token cache, such as Redis, that lets
// replicas of an agent reuse each other's tokens. See [WithStore].
//
// Keys are opaque names ("passport/v1/" and a SHA-256 hex digest) and
// values are opaque sealed blobs; a Store never sees a token in clear.
// Implementations must be safe for concurrent use. Errors are logged and
// otherwise ignored: a Store is an optimisation, never a dependency.
type Store interface {
	// Get returns the blob stored under key, or nil and no error when
	// there is none (or it expired).
	Get(ctx context.Context, key string) ([]byte, error)
	// Put stores blob under key until expiresAt.
	Put(ctx context.Context, key string, blob []byte, expiresAt time.Time) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, key string) error
}

// MemoryStore is an in-process [Store], for tests and for sharing tokens
// between sources of one process. Expired blobs are dropped on access and
// on every Put. The zero value is not usable; call [NewMemoryStore].
type MemoryStore struct {
	now func() time.Time

	mu sync.Mutex // guards m
	m  map[string]memoryItem
}

type memoryItem struct {
	blob      []byte
	expiresAt time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{now: time.Now, m: make(map[string]memoryItem)}
}

// Get implements [Store].
func (s *MemoryStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.m[key]
	if !ok {
		return nil, nil
	}
	if !s.now().Before(it.expiresAt) {
		delete(s.m, key)
		return nil, nil
	}
	return append([]byte(nil), it.blob...), nil
}

// Put implements [Store].
func (s *MemoryStore) Put(_ context.Context, key string, blob []byte, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, it := range s.m {
		if !now.Before(it.expiresAt) {
			delete(s.m, k)
		}
	}
	s.m[key] = memoryItem{blob: append([]byte(nil), blob...), expiresAt: expiresAt}
	return nil
}

// Delete implements [Store].
func (s *MemoryStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Len returns the number of blobs held, expired ones included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// sealedStore seals token states before they reach a Store.
type sealedStore struct {
	s      Store
	aead   cipher.AEAD
	logger interface {
		Debug(msg string, args ...any)
	}
}

func (c *config) sealedStore() *sealedStore {
	if c.store == nil {
		return nil
	}
	block, err := aes.NewCipher(c.storeKey)
	if err != nil {
		return nil // newConfig checked the key length
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil
	}
	return &sealedStore{s: c.store, aead: aead, logger: c.logger}
}

// storeTimeout bounds one store operation.
const storeTimeout = 2 * time.Second

// blobVersion is the first byte of a sealed blob.
const blobVersion = 1

// storedState is the plaintext of a sealed blob.
type storedState struct {
	AccessToken  string   `json:"at"`
	TokenType    string   `json:"tt"`
	ExpiresAt    int64    `json:"exp"` // µs, the token's own expiry
	RefreshAt    int64    `json:"ref"` // µs
	Scopes       []string `json:"scp,omitempty"`
	RefreshToken string   `json:"rt,omitempty"`
}

func (s *sealedStore) put(ctx context.Context, key string, st *tokenState) {
	plain, err := json.Marshal(storedState{
		AccessToken:  st.tok.accessToken,
		TokenType:    st.tok.tokenType,
		ExpiresAt:    st.tok.expiresAt,
		RefreshAt:    st.refreshAt,
		Scopes:       st.tok.scopes,
		RefreshToken: st.refreshToken,
	})
	if err != nil {
		return
	}
	nonce := make([]byte, s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return
	}
	blob := append([]byte{blobVersion}, nonce...)
	blob = s.aead.Seal(blob, nonce, plain, []byte(key))
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.s.Put(ctx, key, blob, time.UnixMicro(st.tok.expiresAt)); err != nil {
		s.logger.Debug("credentials: store put failed", "error", err)
	}
}

func (s *sealedStore) get(ctx context.Context, key string, skew int64) *tokenState {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	blob, err := s.s.Get(ctx, key)
	if err != nil {
		s.logger.Debug("credentials: store get failed", "error", err)
		return nil
	}
	if blob == nil {
		return nil
	}
	st, err := s.open(key, blob, skew)
	if err != nil {
		s.logger.Debug("credentials: store blob refused", "error", err)
		return nil
	}
	return st
}

func (s *sealedStore) delete(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	if err := s.s.Delete(ctx, key); err != nil {
		s.logger.Debug("credentials: store delete failed", "error", err)
	}
}

// open authenticates and decodes a sealed blob stored under key.
func (s *sealedStore) open(key string, blob []byte, skew int64) (*tokenState, error) {
	n := s.aead.NonceSize()
	if len(blob) < 1+n+s.aead.Overhead() || blob[0] != blobVersion {
		return nil, errors.New("not a sealed token blob")
	}
	plain, err := s.aead.Open(nil, blob[1:1+n], blob[1+n:], []byte(key))
	if err != nil {
		return nil, errors.New("blob authentication failed")
	}
	return decodeStoredState(plain, skew)
}

// decodeStoredState parses the plaintext of a blob.
func decodeStoredState(plain []byte, skew int64) (*tokenState, error) {
	var ss storedState
	if err := json.Unmarshal(plain, &ss); err != nil {
		return nil, fmt.Errorf("blob payload: %w", err)
	}
	if ss.AccessToken == "" || ss.ExpiresAt <= 0 || ss.RefreshAt < 0 {
		return nil, errors.New("blob payload: missing token or expiry")
	}
	tok := &Token{accessToken: ss.AccessToken, tokenType: ss.TokenType, expiresAt: ss.ExpiresAt, refreshAt: ss.RefreshAt, scopes: ss.Scopes}
	if tok.tokenType == "" {
		tok.tokenType = "Bearer"
	}
	hard := ss.ExpiresAt - skew
	return &tokenState{tok: tok, expiresAt: hard, refreshAt: min(ss.RefreshAt, hard), refreshToken: ss.RefreshToken}, nil
}
