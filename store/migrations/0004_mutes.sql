-- 0004_mutes: the audit log is where a participant's mutes outlive the
-- gateway.
--
-- Every mute and unmute is an audit entry (`participant.mute`, target the
-- participant, detail {hearing_id, kind, muted}); when a hearing becomes
-- live again after a restart its mutes are the last such entry per
-- participant and kind (vej_store_hearing_mutes). This index keeps that
-- read to the mute entries.

CREATE INDEX audit_log_mutes ON audit_log (target, seq) WHERE action = 'participant.mute';
