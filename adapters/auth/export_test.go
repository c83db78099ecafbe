package auth

// CacheLen reports how many verified tokens t remembers.
func CacheLen(t *Tokens) int {
	if t.cache == nil {
		return 0
	}
	return t.cache.len()
}
