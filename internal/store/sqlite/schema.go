package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// migrations are applied in order; the database's user_version counts how
// many have been applied. A migration, once released, is never edited: a
// change of schema is a new entry at the end.
//
// Times are INTEGER unix milliseconds (UTC); 0 stands for the zero time.
// The state literals in the partial index must match store.Queued,
// store.Sending and store.Delayed (a test checks this), and the queries that use the index
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
	// 2: sealed bodies, decisions, audit chain, allowlist, generations,
	// console sessions, API tokens.
	`
-- 1 when data is what store.Sealer.Seal made of the message; bodies
-- written before sealing was configured keep 0 and still read.
ALTER TABLE bodies ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;

-- seq only keeps the order in which decisions were added.
CREATE TABLE decisions (
	seq       INTEGER PRIMARY KEY,
	msg_id    TEXT NOT NULL REFERENCES messages (id),
	actor     TEXT NOT NULL,
	kind      TEXT NOT NULL,
	comment   TEXT NOT NULL,
	near_miss INTEGER NOT NULL,
	at        INTEGER NOT NULL
) STRICT;
CREATE INDEX decisions_msg_id ON decisions (msg_id);
CREATE INDEX decisions_kind ON decisions (kind, at);

-- seq is the rowid: appends go to the end of the table, and "the newest
-- entry" and purging the oldest are range operations on it. at is plain
-- unix milliseconds (no zero-time mapping), because the chain's hashes
-- cover it.
CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL,
	actor  TEXT NOT NULL,
	action TEXT NOT NULL,
	msg_id TEXT NOT NULL,
	data   BLOB NOT NULL,
	prev   BLOB NOT NULL,
	hash   BLOB NOT NULL
) STRICT;
-- Each index also holds the rowid, so filtered reads come out in seq
-- order without a sort.
CREATE INDEX audit_msg_id ON audit (msg_id);
CREATE INDEX audit_actor ON audit (actor);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE allow_entries (
	id        TEXT PRIMARY KEY NOT NULL,
	kind      TEXT NOT NULL,
	value     TEXT NOT NULL,
	reason    TEXT NOT NULL,
	added_by  TEXT NOT NULL,
	added     INTEGER NOT NULL,
	expires   INTEGER NOT NULL,
	senders   TEXT NOT NULL,  -- JSON array
	free_mail INTEGER NOT NULL,
	source    TEXT NOT NULL
) STRICT;

-- Change counters of record sets that instances cache ("allowlist").
CREATE TABLE generations (
	name    TEXT PRIMARY KEY NOT NULL,
	counter INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
	id        TEXT PRIMARY KEY NOT NULL,  -- SHA-256 of the cookie, hex
	user      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions (user);

CREATE TABLE tokens (
	id      TEXT PRIMARY KEY NOT NULL,  -- SHA-256 of the token, hex
	user    TEXT NOT NULL,
	name    TEXT NOT NULL,
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
) STRICT;
CREATE INDEX tokens_user ON tokens (user, created);
`,
	// 3: incident records (Data is JSON, sealed when a key file is set).
	`
CREATE TABLE incidents (
	id       TEXT PRIMARY KEY NOT NULL,
	msg_id   TEXT NOT NULL,
	reporter TEXT NOT NULL,
	status   TEXT NOT NULL,
	created  INTEGER NOT NULL,
	updated  INTEGER NOT NULL,
	version  INTEGER NOT NULL,
	data     BLOB NOT NULL
) STRICT;
CREATE INDEX incidents_created ON incidents (created);
CREATE INDEX incidents_reporter ON incidents (reporter, created);
CREATE INDEX incidents_msg ON incidents (msg_id);
`,
	// 4: the correspondents record (who received delivered mail from
	// whom), per pair and per domain.
	`
CREATE TABLE correspondents (
	sender     TEXT NOT NULL,
	rcpt       TEXT NOT NULL,
	domain     TEXT NOT NULL,
	first_at   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	deliveries INTEGER NOT NULL,
	PRIMARY KEY (sender, rcpt)
) STRICT, WITHOUT ROWID;
CREATE INDEX correspondents_domain ON correspondents (domain, rcpt, sender);
CREATE INDEX correspondents_last ON correspondents (last_at);

CREATE TABLE correspondent_domains (
	domain     TEXT PRIMARY KEY NOT NULL,
	first_at   INTEGER NOT NULL,
	last_at    INTEGER NOT NULL,
	deliveries INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX correspondent_domains_last ON correspondent_domains (last_at);
`,
	// 5: an officer's delegate while away.
	`
ALTER TABLE users ADD COLUMN delegate_to TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN delegate_until INTEGER NOT NULL DEFAULT 0;
`,
	// 6: delayed mail is due at its release time like queued mail is at
	// its next attempt, so the due index takes it in; secrets the
	// instances share (the key that signs confirmation links).
	`
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (next_attempt) WHERE state IN ('queued', 'sending', 'delayed');

CREATE TABLE secrets (
	name  TEXT PRIMARY KEY NOT NULL,
	value BLOB NOT NULL
) STRICT;
`,
	// 7: the owner of a console session or an API token is "username",
	// as in PostgreSQL (where "user" is a reserved word), so that both
	// databases run the same statements.
	`
ALTER TABLE sessions RENAME COLUMN user TO username;
ALTER TABLE tokens RENAME COLUMN user TO username;
`,
	// 8: bodies larger than store.BodyChunk are kept in chunks (written
	// once for both databases).
	dialect.Schema(sqlstore.BodyChunks),
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
