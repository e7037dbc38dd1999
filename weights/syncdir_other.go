//go:build !unix

package weights

// syncDir is a no-op where directories cannot be opened for syncing.
func syncDir(dir string) error { return nil }
