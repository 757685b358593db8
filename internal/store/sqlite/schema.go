package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; the database's user_version counts how
// many have been applied. A migration, once released, is never edited: a
// change of schema is a new entry at the end.
//
// Times are INTEGER unix milliseconds (UTC); 0 stands for the zero time.
// The state literals in the partial index must match store.Queued and
// store.Sending (a test checks this), and the queries that use the index
// must repeat the same IN list word for word, or SQLite cannot use it.
var migrations = []string{
	// 1: messages, their bytes, users.
	`
CREATE TABLE messages (
	id           TEXT PRIMARY KEY NOT NULL,
	received     INTEGER NOT NULL,
	client_addr  TEXT NOT NULL,
	helo         TEXT NOT NULL,
	auth_user    TEXT NOT NULL,
	mail_from    TEXT NOT NULL,
	smtputf8     INTEGER NOT NULL,
	body_type    TEXT NOT NULL,
	ret          TEXT NOT NULL,
	envid        TEXT NOT NULL,
	rcpts        TEXT NOT NULL,   -- JSON array of recipients
	state        TEXT NOT NULL,
	updated      INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt INTEGER NOT NULL,
	owner        TEXT NOT NULL,
	last_error   TEXT NOT NULL,
	status       TEXT NOT NULL,   -- JSON array, one entry per recipient
	subject      TEXT NOT NULL,
	header_from  TEXT NOT NULL,
	verdict      BLOB,            -- opaque JSON, NULL when none
	action       TEXT NOT NULL,
	hold_expires INTEGER NOT NULL
) STRICT;

-- ClaimDue and NextDue walk this small index in next_attempt order and stop
-- at the limit: no sort, and final messages never enter it.
CREATE INDEX messages_due ON messages (next_attempt) WHERE state IN ('queued', 'sending');
CREATE INDEX messages_state ON messages (state, received);
CREATE INDEX messages_received ON messages (received);
CREATE INDEX messages_auth_user ON messages (auth_user, received);

-- The bytes live apart from the record so that listings and state changes
-- never read or rewrite them, and so that DeleteBody frees exactly them.
CREATE TABLE bodies (
	id   TEXT PRIMARY KEY NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
	data BLOB NOT NULL
) STRICT;

CREATE TABLE users (
	name          TEXT PRIMARY KEY NOT NULL,
	password_hash TEXT NOT NULL,
	roles         TEXT NOT NULL,  -- JSON array
	addresses     TEXT NOT NULL,  -- JSON array
	disabled      INTEGER NOT NULL,
	lang          TEXT NOT NULL,
	created       INTEGER NOT NULL,
	updated       INTEGER NOT NULL
) STRICT;
`,
}

// migrate brings the schema up to date in one transaction, so a crash or an
// error leaves the previous version intact. Running it on an up-to-date
// database changes nothing.
func migrate(ctx context.Context, conn *sql.Conn) (from, to int, err error) {
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, 0, fmt.Errorf("sqlite: begin migration: %w", mapErr(err))
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
		return 0, 0, fmt.Errorf("sqlite: read schema version: %w", mapErr(err))
	}
	to = len(migrations)
	if from > to {
		// A newer binary has changed the schema; running on it could
		// corrupt what that binary relies on.
		return from, to, fmt.Errorf("sqlite: database schema version %d is newer than this program's %d", from, to)
	}
	for v := from; v < to; v++ {
		if _, err := conn.ExecContext(ctx, migrations[v]); err != nil {
			return from, to, fmt.Errorf("sqlite: migration %d: %w", v+1, mapErr(err))
		}
	}
	if from != to {
		// PRAGMA takes no bound parameters; to is a small integer.
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", to)); err != nil {
			return from, to, fmt.Errorf("sqlite: set schema version: %w", mapErr(err))
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return from, to, fmt.Errorf("sqlite: commit migration: %w", mapErr(err))
	}
	return from, to, nil
}
