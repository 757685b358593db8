//go:build !linux

package sqlite

// diskFree is not implemented here; Ping then relies on the page cap and
// on SQLITE_FULL alone.
func diskFree(dir string) (uint64, bool) { return 0, false }
