package sqlite

import (
	"errors"
	"fmt"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/egressguard/egressguard/internal/store"
)

var (
	// errTxDone is returned by a Tx used after its function returned.
	errTxDone = errors.New("sqlite: transaction used after its update function returned")
)

// sqliteCode returns the extended SQLite result code of err, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// mapErr translates driver errors into the store's sentinels, keeping the
// original for the log. The unix VFS reports ENOSPC as SQLITE_FULL, as it
// does a hit on max_page_count.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	code := sqliteCode(err)
	switch {
	case code&0xff == sqlite3.SQLITE_FULL, errors.Is(err, syscall.ENOSPC):
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return fmt.Errorf("%w: %w", store.ErrExists, err)
	}
	return err
}

// abortsTx reports whether err may have rolled back the whole transaction
// rather than just the failing statement. SQLite documents this for FULL,
// IOERR, BUSY, NOMEM and INTERRUPT; only constraint violations are known to
// undo the statement alone, so everything else is treated as fatal for the
// update function that met it.
func abortsTx(err error) bool {
	code := sqliteCode(err)
	return code != 0 && code&0xff != sqlite3.SQLITE_CONSTRAINT
}
