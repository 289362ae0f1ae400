-- 0003_recordings: one row per recording (docs/recording.md).
--
-- A recording is created when its hearing first goes in_session and lives
-- in DATA_DIR/recordings/<dir>. `state` follows recording.state
-- (PROTOCOL.md). manifest_revision is 0 until the first manifest is
-- sealed. media_deleted_at is set when the retention sweep deleted the
-- media (the manifest and the row stay). legal_hold stops the sweep.
-- verify_ok is -1 until POST .../verify ran, then 0 or 1.

CREATE TABLE recordings (
    id                TEXT PRIMARY KEY,
    hearing_id        TEXT NOT NULL UNIQUE REFERENCES hearings (id),
    courtroom_id      TEXT NOT NULL REFERENCES courtrooms (id),
    case_reference    TEXT NOT NULL,
    state             TEXT NOT NULL DEFAULT 'recording'
                      CHECK (state IN ('recording', 'stopped', 'failed', 'archiving',
                                       'archived')),
    dir               TEXT NOT NULL,
    started_at        INTEGER NOT NULL,
    closed_at         INTEGER NOT NULL DEFAULT 0,
    manifest_revision INTEGER NOT NULL DEFAULT 0,
    sealed_at         INTEGER NOT NULL DEFAULT 0,
    media_deleted_at  INTEGER NOT NULL DEFAULT 0,
    legal_hold        INTEGER NOT NULL DEFAULT 0 CHECK (legal_hold IN (0, 1)),
    legal_hold_reason TEXT NOT NULL DEFAULT '',
    legal_hold_by     TEXT NOT NULL DEFAULT '',
    legal_hold_at     INTEGER NOT NULL DEFAULT 0,
    verified_at       INTEGER NOT NULL DEFAULT 0,
    verify_ok         INTEGER NOT NULL DEFAULT -1 CHECK (verify_ok IN (-1, 0, 1)),
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX recordings_started ON recordings (started_at);
CREATE INDEX recordings_courtroom ON recordings (courtroom_id, started_at);
CREATE INDEX recordings_case_reference ON recordings (case_reference);
