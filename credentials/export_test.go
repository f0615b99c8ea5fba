package credentials

// CacheLen returns the number of entries in c's cache, for tests.
func CacheLen(c *Client) int { return c.cache.len() }
