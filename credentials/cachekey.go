package credentials

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
)

// cacheKey is what distinguishes two tokens of one partition. The parts
// that are fixed for a partition (authority, client, flow, fmi_path) are
// not repeated here: each partition belongs to one of them.
type cacheKey struct {
	scopes   []string // sorted, without repetitions
	resource string
	claims   string
	tenant   string
	// subject is whom the token is for beyond the client, inline so that
	// comparing it touches no other memory.
	subject subject
	// plain is set when resource, claims, tenant and subject are all
	// empty: the common key, matched by scopes alone.
	plain bool
	// one holds the only scope of a one-scope key, so that scopes points
	// into the entry itself rather than to another allocation.
	one [1]string
}

// subject identifies whom a token is for beyond the client: nobody (app
// tokens), or a user assertion (on-behalf-of), an agent user or an agent
// (exchange tokens), by the SHA-256 of what names them. A key never holds
// a user's token or name in clear.
type subject struct {
	digest [32]byte
	set    bool
}

// noSubject is the subject of app tokens.
var noSubject subject

// subjectOf returns the subject named by s.
func subjectOf(s string) subject {
	return subject{digest: sha256.Sum256([]byte(s)), set: true}
}

// setKey fills e.key for req and subj.
func (e *entry) setKey(req *Request, subj *subject) {
	k := &e.key
	k.scopes = canonicalScopes(req.Scopes)
	if len(k.scopes) == 1 {
		k.one[0] = k.scopes[0]
		k.scopes = k.one[:]
	}
	k.resource, k.claims, k.tenant, k.subject = req.Resource, req.Claims, req.TenantID, *subj
	k.plain = req.Resource == "" && req.Claims == "" && req.TenantID == "" && !subj.set
}

// matches reports whether req (with subject) names this key. unique is
// the number of distinct scopes of req, as counted by hashRequest.
func (k *cacheKey) matches(req *Request, subj *subject, unique int) bool {
	if unique != len(k.scopes) || !k.sameExtras(req, subj) {
		return false
	}
	for _, s := range req.Scopes {
		if !containsSorted(k.scopes, s) {
			return false
		}
	}
	return true
}

// sameExtras reports whether the parts of the key other than the scopes
// equal those of req and subject.
func (k *cacheKey) sameExtras(req *Request, subj *subject) bool {
	if k.plain {
		// Only lengths to compare: cheaper than three string comparisons.
		return len(req.Resource)|len(req.Claims)|len(req.TenantID) == 0 && !subj.set
	}
	return k.subject == *subj && k.resource == req.Resource && k.claims == req.Claims && k.tenant == req.TenantID
}

// matchesExactly reports whether req (with subject) names this key,
// without the distinct-scope count of hashRequest: req must list each
// scope of the key once. A request with repeated scopes may get false
// here and true from matches.
func (k *cacheKey) matchesExactly(req *Request, subj *subject) bool {
	if len(req.Scopes) != len(k.scopes) || !k.sameExtras(req, subj) {
		return false
	}
	if len(k.scopes) == 1 {
		return req.Scopes[0] == k.scopes[0]
	}
	// Equal lengths, every request scope in the key and the key's scopes
	// distinct: the sets are equal only if the request repeats none.
	for i, s := range req.Scopes {
		if !containsSorted(k.scopes, s) || seenBefore(req.Scopes[:i], s) {
			return false
		}
	}
	return true
}

// containsSorted reports whether sorted holds s. Scope lists are short,
// so a linear scan beats a binary search.
func containsSorted(sorted []string, s string) bool {
	for _, x := range sorted {
		if x == s {
			return true
		}
	}
	return false
}

// Field tags keep "resource=a" apart from "claims=a" in the hash.
const (
	tagResource = 0x9e3779b97f4a7c15
	tagClaims   = 0xc2b2ae3d27d4eb4f
	tagTenant   = 0x165667b19e3779f9
	tagSubject  = 0x27d4eb2f165667c5
)

// hashRequest hashes req and subj without allocating.
// Scopes hash as a set: the sum of the (seeded, uniformly distributed)
// hashes of the distinct scopes. It also returns the number of distinct
// scopes. The common request, one scope and nothing else, costs one
// string hash.
func hashRequest(seed maphash.Seed, req *Request, subj *subject) (uint64, int) {
	var h uint64
	unique := 0
	for i, s := range req.Scopes {
		if i > 0 && seenBefore(req.Scopes[:i], s) {
			continue
		}
		h += maphash.String(seed, s)
		unique++
	}
	if subj.set {
		h = mix(h^tagSubject) + maphash.Bytes(seed, subj.digest[:])
	}
	if req.Resource != "" {
		h = mix(h^tagResource) + maphash.String(seed, req.Resource)
	}
	if req.Claims != "" {
		h = mix(h^tagClaims) + maphash.String(seed, req.Claims)
	}
	if req.TenantID != "" {
		h = mix(h^tagTenant) + maphash.String(seed, req.TenantID)
	}
	return h, unique
}

func seenBefore(prefix []string, s string) bool {
	for _, x := range prefix {
		if x == s {
			return true
		}
	}
	return false
}

// mix is the finaliser of SplitMix64: a bijection that spreads every
// input bit over the output.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// storeKey is the name of a token in a shared [Store]: a SHA-256 over
// every key part, so that it holds no user token, scope or user id in
// clear.
func storeKey(partition string, k *cacheKey) string {
	h := sha256.New()
	subj := ""
	if k.subject.set {
		subj = string(k.subject.digest[:])
	}
	parts := append([]string{partition, k.resource, k.claims, k.tenant, subj}, k.scopes...)
	for _, part := range parts {
		// Length-prefixed, so no two different keys write the same bytes.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write([]byte(part))
	}
	return "passport/v1/" + hex.EncodeToString(h.Sum(nil))
}
