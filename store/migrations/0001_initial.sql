-- 0001_initial: the first schema.
--
-- A released migration is never edited: change the schema with a new file
-- NNNN_name.sql (next number) and list it in store/meson.build.
-- Times are INTEGER Unix seconds (UTC) unless named *_us (microseconds).
-- Booleans are INTEGER 0/1. Ids are TEXT with a type prefix.

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    username             TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL
                         CHECK (role IN ('clerk', 'judge', 'evidential', 'admin')),
    password_hash        TEXT NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    disabled             INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at           INTEGER NOT NULL
) STRICT;

-- Only SHA-256 hashes of staff session tokens are stored.
CREATE TABLE staff_sessions (
    token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

CREATE TABLE courtrooms (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    retention_days INTEGER NOT NULL CHECK (retention_days >= 0),
    time_zone      TEXT NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE hearings (
    id             TEXT PRIMARY KEY,
    courtroom_id   TEXT NOT NULL REFERENCES courtrooms (id),
    case_reference TEXT NOT NULL,
    title          TEXT NOT NULL,
    starts_at      INTEGER NOT NULL,
    ends_at        INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'scheduled'
                   CHECK (state IN ('scheduled', 'open', 'in_session', 'adjourned', 'closed')),
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX hearings_courtroom_starts ON hearings (courtroom_id, starts_at);
CREATE INDEX hearings_starts ON hearings (starts_at);
CREATE INDEX hearings_case_reference ON hearings (case_reference);

-- Participants are never deleted (removed = 1 instead), so rowid order is
-- creation order.
CREATE TABLE participants (
    id               TEXT PRIMARY KEY,
    hearing_id       TEXT NOT NULL REFERENCES hearings (id),
    display_name     TEXT NOT NULL,
    role             TEXT NOT NULL,
    special_measures TEXT NOT NULL DEFAULT '{}'
                     CHECK (json_valid(special_measures)
                            AND json_type(special_measures) = 'object'),
    user_id          TEXT REFERENCES users (id),
    token_version    INTEGER NOT NULL DEFAULT 1 CHECK (token_version >= 1),
    removed          INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    created_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX participants_hearing ON participants (hearing_id);
-- A staff account has at most one live participant per hearing.
CREATE UNIQUE INDEX participants_hearing_user ON participants (hearing_id, user_id)
    WHERE user_id IS NOT NULL AND removed = 0;

-- The audit log: append-only and hash-chained (see store/audit.c for the
-- canonical encoding). The triggers make the database refuse changes to
-- written entries and appends that do not extend the chain; they protect
-- against mistakes, not against someone who can drop them, which is what
-- the hash chain and the signed heads are for.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    ts_us     INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
CREATE INDEX audit_log_ts ON audit_log (ts_us);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_extends_chain BEFORE INSERT ON audit_log
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit_log)
  OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),
                                   zeroblob(32))
BEGIN
    SELECT RAISE(ABORT, 'audit_log entry does not extend the chain');
END;
