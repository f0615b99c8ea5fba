package agentid

// Hooks for the external tests.

// ParseActChain flattens an act claim, for FuzzActChain.
func ParseActChain(data []byte) ([]Actor, error) { return parseActChain(string(data)) }

// DecodePrincipal decodes a claims set into its Principal without any
// check, for FuzzClaims.
func DecodePrincipal(payload []byte) (*Principal, error) {
	c, err := decodeClaims(string(payload))
	if err != nil {
		return nil, err
	}
	return newPrincipal(c, string(payload)), nil
}

// CacheLen returns the number of tokens in v's token cache.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}
