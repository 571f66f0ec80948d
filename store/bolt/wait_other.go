//go:build !unix

package bolt

// Without flock the holder cannot see waiters: it assumes there may be one.
func announceWait(path string) (done func()) { return func() {} }

func someoneWaiting(path string) bool { return true }
