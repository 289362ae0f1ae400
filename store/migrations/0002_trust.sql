-- 0002_trust: staff scoped to courtrooms, and a second factor.
--
-- Deny by default: an account acts only in the courtrooms listed here for
-- it (admins excepted, by role). The clerk who creates a courtroom is
-- assigned to it.
CREATE TABLE user_courtrooms (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    courtroom_id TEXT NOT NULL REFERENCES courtrooms (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, courtroom_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_courtrooms_courtroom ON user_courtrooms (courtroom_id);

-- TOTP (RFC 6238). totp_secret is the base32 shared secret (NULL: none);
-- it counts only once totp_enabled (the enrolment was confirmed with a
-- code). totp_last_step is the last time step accepted: a code of that
-- step or an earlier one is never accepted again.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0
    CHECK (totp_enabled IN (0, 1));
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;

-- One-time recovery codes: only SHA-256 hashes are stored.
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL CHECK (length(code_hash) = 32),
    used      INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    PRIMARY KEY (user_id, code_hash)
) STRICT, WITHOUT ROWID;
