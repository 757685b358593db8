package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/egressguard/egressguard/internal/store/sqlstore"
)

// migrations are applied in order, each in the same transaction as the
// record of its version in schema_migrations. A migration, once released,
// is never edited: a change of schema is a new entry at the end.
//
// Times are bigint unix milliseconds (UTC), 0 for the zero time, exactly as
// in the SQLite store: what the suite and the audit hashes need is the
// millisecond, and one encoding for both backends keeps their semantics
// (the zero time sorting first, NextDue of a zero NextAttempt) identical.
// For a human at psql: to_timestamp(received / 1000.0).
//
// Names and IDs are compared and sorted byte by byte (COLLATE "C"), as in
// SQLite, whatever the database's default collation: "Alice" is not
// "alice", and listings come out in the same order on both backends.
//
// The state literals in the partial index must match store.Queued,
// store.Sending and store.Delayed (a test checks this), and the queries that should use the
// index repeat the same IN list.
var migrations = []string{
	// 1: messages, their bytes, users.
	`
CREATE TABLE messages (
	id           text COLLATE "C" PRIMARY KEY,
	received     bigint NOT NULL,
	client_addr  text NOT NULL,
	helo         bytea NOT NULL,
	auth_user    text COLLATE "C" NOT NULL,
	mail_from    bytea NOT NULL,
	smtputf8     boolean NOT NULL,
	body_type    text NOT NULL,
	ret          text NOT NULL,
	envid        bytea NOT NULL,
	rcpts        text NOT NULL,   -- JSON array of recipients
	state        text NOT NULL,
	updated      bigint NOT NULL,
	size         bigint NOT NULL,
	attempts     integer NOT NULL,
	next_attempt bigint NOT NULL,
	owner        text NOT NULL,
	last_error   bytea NOT NULL,
	status       text NOT NULL,   -- JSON array, one entry per recipient
	subject      bytea NOT NULL,
	header_from  bytea NOT NULL,
	verdict      bytea,           -- opaque JSON, NULL when none
	action       text NOT NULL,
	hold_expires bigint NOT NULL
);

-- ClaimDue and NextDue walk this small index in next_attempt order and stop
-- at the limit; final messages never enter it.
CREATE INDEX messages_due ON messages (next_attempt) WHERE state IN ('queued', 'sending');
CREATE INDEX messages_state ON messages (state, received);
CREATE INDEX messages_received ON messages (received, id);
CREATE INDEX messages_auth_user ON messages (auth_user, received);
CREATE INDEX messages_owner ON messages (owner) WHERE state = 'sending';

-- The bytes live apart from the record so that listings and state changes
-- never read or rewrite them (an UPDATE in PostgreSQL writes a new row
-- version), and so that DeleteBody frees exactly them.
CREATE TABLE bodies (
	id   text COLLATE "C" PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
	data bytea NOT NULL
);

CREATE TABLE users (
	name          text COLLATE "C" PRIMARY KEY,
	password_hash text NOT NULL,
	roles         text NOT NULL,  -- JSON array
	addresses     text NOT NULL,  -- JSON array
	disabled      boolean NOT NULL,
	lang          text NOT NULL,
	created       bigint NOT NULL,
	updated       bigint NOT NULL
);
`,
	// 2: sealed bodies, decisions, audit chain, allowlist, generations,
	// console sessions, API tokens.
	`
-- true when data is what store.Sealer.Seal made of the message; bodies
-- written before sealing was configured keep false and still read.
ALTER TABLE bodies ADD COLUMN sealed boolean NOT NULL DEFAULT false;

-- seq only keeps the order in which decisions were added.
CREATE TABLE decisions (
	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	msg_id    text COLLATE "C" NOT NULL REFERENCES messages (id),
	actor     text COLLATE "C" NOT NULL,
	kind      text NOT NULL,
	comment   text NOT NULL,
	near_miss boolean NOT NULL,
	at        bigint NOT NULL
);
CREATE INDEX decisions_msg_id ON decisions (msg_id, seq);
CREATE INDEX decisions_kind ON decisions (kind, at, seq);

-- seq is given by the appender (package audit), under the advisory lock
-- LastAudit takes; the primary key is the last guard against a fork. at is
-- plain unix milliseconds (no zero-time mapping), because the chain's
-- hashes cover it. The text of an entry is kept as bytes: the hashes cover
-- the exact bytes, and an entry must not be refused for a NUL or invalid
-- UTF-8 in, say, a login name someone tried (PostgreSQL text takes
-- neither).
CREATE TABLE audit (
	seq    bigint PRIMARY KEY,
	at     bigint NOT NULL,
	actor  bytea NOT NULL,
	action bytea NOT NULL,
	msg_id bytea NOT NULL,
	data   bytea NOT NULL,
	prev   bytea NOT NULL,
	hash   bytea NOT NULL
);
CREATE INDEX audit_msg_id ON audit (msg_id, seq);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE allow_entries (
	id        text COLLATE "C" PRIMARY KEY,
	kind      text NOT NULL,
	value     text COLLATE "C" NOT NULL,
	reason    text NOT NULL,
	added_by  text NOT NULL,
	added     bigint NOT NULL,
	expires   bigint NOT NULL,
	senders   text NOT NULL,  -- JSON array
	free_mail boolean NOT NULL,
	source    text NOT NULL
);

-- Change counters of record sets that instances cache ("allowlist").
CREATE TABLE generations (
	name    text COLLATE "C" PRIMARY KEY,
	counter bigint NOT NULL
);

-- "user" is a reserved word in PostgreSQL, hence username.
CREATE TABLE sessions (
	id        text COLLATE "C" PRIMARY KEY,  -- SHA-256 of the cookie, hex
	username  text COLLATE "C" NOT NULL,
	created   bigint NOT NULL,
	last_seen bigint NOT NULL
);
CREATE INDEX sessions_username ON sessions (username);

CREATE TABLE tokens (
	id       text COLLATE "C" PRIMARY KEY,  -- SHA-256 of the token, hex
	username text COLLATE "C" NOT NULL,
	name     text NOT NULL,
	created  bigint NOT NULL,
	expires  bigint NOT NULL
);
CREATE INDEX tokens_username ON tokens (username, created, id);
CREATE INDEX tokens_created ON tokens (created, id);
`,
	// 3: the instances sharing the store (see instance.go).
	`
CREATE TABLE instances (
	name     text COLLATE "C" PRIMARY KEY,
	lock_key integer NOT NULL,  -- second key of its advisory lock (class lockInstance)
	host     text NOT NULL,
	pid      integer NOT NULL,
	started  bigint NOT NULL,
	seen     bigint NOT NULL    -- last heartbeat, by the server's clock
);
`,
	// 4: incident records (data is JSON, sealed when a key file is set).
	`
CREATE TABLE incidents (
	id       text COLLATE "C" PRIMARY KEY,
	msg_id   text COLLATE "C" NOT NULL,
	reporter text COLLATE "C" NOT NULL,
	status   text NOT NULL,
	created  bigint NOT NULL,
	updated  bigint NOT NULL,
	version  bigint NOT NULL,
	data     bytea NOT NULL
);
CREATE INDEX incidents_created ON incidents (created);
CREATE INDEX incidents_reporter ON incidents (reporter, created);
CREATE INDEX incidents_msg ON incidents (msg_id);
`,
	// 5: the correspondents record (who received delivered mail from
	// whom), per pair and per domain.
	`
CREATE TABLE correspondents (
	sender     text COLLATE "C" NOT NULL,
	rcpt       text COLLATE "C" NOT NULL,
	domain     text COLLATE "C" NOT NULL,
	first_at   bigint NOT NULL,
	last_at    bigint NOT NULL,
	deliveries bigint NOT NULL,
	PRIMARY KEY (sender, rcpt)
);
CREATE INDEX correspondents_domain ON correspondents (domain, rcpt, sender);
CREATE INDEX correspondents_last ON correspondents (last_at);

CREATE TABLE correspondent_domains (
	domain     text COLLATE "C" PRIMARY KEY,
	first_at   bigint NOT NULL,
	last_at    bigint NOT NULL,
	deliveries bigint NOT NULL
);
CREATE INDEX correspondent_domains_last ON correspondent_domains (last_at);
`,
	// 6: an officer's delegate while away.
	`
ALTER TABLE users ADD COLUMN delegate_to text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN delegate_until bigint NOT NULL DEFAULT 0;
`,
	// 7: delayed mail is due at its release time like queued mail is at
	// its next attempt, so the due index takes it in; secrets the
	// instances share (the key that signs confirmation links).
	`
DROP INDEX messages_due;
CREATE INDEX messages_due ON messages (next_attempt) WHERE state IN ('queued', 'sending', 'delayed');

CREATE TABLE secrets (
	name  text COLLATE "C" PRIMARY KEY,
	value bytea NOT NULL
);
`,
	// 8: bodies larger than store.BodyChunk are kept in chunks (written
	// once for both databases).
	dialect.Schema(sqlstore.BodyChunks),
}

// Advisory lock classes (the first key of the two-key form). The second key
// is a hash of the schema name, so that deployments (or tests) sharing one
// database in separate schemas do not wait for each other, while every
// instance of one deployment takes the same lock.
const (
	lockMigrate int32 = 0x45470001 // "EG" 1: schema migrations
	lockWriter  int32 = 0x45470002 // "EG" 2: write transactions, and with them the audit chain
	// "EG" 3: an instance name, held by its process for its lifetime (the
	// second key is instanceKey, not schemaKey).
	lockInstance int32 = 0x45470003
)

// schemaKey is the second advisory lock key for a schema.
func schemaKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// instanceKey is the second advisory lock key of an instance name within
// a schema.
func instanceKey(schema, name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// migrate brings the schema up to date in one transaction, under an
// advisory transaction lock: instances starting together queue behind the
// first, which migrates; the others find the schema current. A crash or an
// error leaves the previous version intact (PostgreSQL's DDL is
// transactional). Running it on an up-to-date schema changes nothing.
func migrate(ctx context.Context, conn *pgx.Conn, key int32, now time.Time) (from, to int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: begin migration: %w", mapErr(err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.Background())
		}
	}()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1, $2)", lockMigrate, key); err != nil {
		return 0, 0, fmt.Errorf("postgres: lock for migration: %w", mapErr(err))
	}
	// Under the lock, so that two first starts cannot both create it.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		applied bigint NOT NULL
	)`); err != nil {
		return 0, 0, fmt.Errorf("postgres: create schema_migrations: %w", mapErr(err))
	}
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&from); err != nil {
		return 0, 0, fmt.Errorf("postgres: read schema version: %w", mapErr(err))
	}
	to = len(migrations)
	if from > to {
		// A newer binary has changed the schema; running on it could
		// corrupt what that binary relies on.
		return from, to, fmt.Errorf("postgres: database schema version %d is newer than this program's %d", from, to)
	}
	for v := from; v < to; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return from, to, fmt.Errorf("postgres: migration %d: %w", v+1, mapErr(err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)", v+1, now.UnixMilli()); err != nil {
			return from, to, fmt.Errorf("postgres: record migration %d: %w", v+1, mapErr(err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return from, to, fmt.Errorf("postgres: commit migration: %w", mapErr(err))
	}
	return from, to, nil
}
