package keylock

// Refs is the number of holders and waiters of key, for tests that must
// wait until a Lock call is queued.
func (k *Map) Refs(key int64) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if l := k.m[key]; l != nil {
		return l.refs
	}
	return 0
}
