package auth

// CacheLen reports how many verified tokens t remembers.
func CacheLen(t *Tokens) int {
	if t.cache == nil {
		return 0
	}
	return t.cache.len()
}

// SetKey replaces the hash function of h.
func SetKey(h *Passwords, key func(password, salt []byte) []byte) {
	h.key = func(password, salt []byte, p PasswordParams) []byte { return key(password, salt) }
}

// Waiting reports how many calls wait for a hashing slot.
func Waiting(h *Passwords) int { return int(h.admitted.Load()) - len(h.slots) }
