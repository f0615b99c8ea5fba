package credentials

// CacheLen returns the number of entries in c's cache, for tests.
func CacheLen(c *Client) int { return c.cache.len() }

// OBOCacheLen returns the number of entries in a's on-behalf-of cache.
func OBOCacheLen(a *AgentIdentity) int { return a.c.obo.len() }

// AgentUserCacheLen returns the number of entries in a's agent-user cache.
func AgentUserCacheLen(a *AgentIdentity) int { return a.users.len() }
