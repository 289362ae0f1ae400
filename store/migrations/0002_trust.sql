-- 0002_trust: placeholder in the evidence branch only.
--
-- The trust branch adds the real 0002_trust.sql in parallel; migrations are
-- numbered without gaps, so this empty file holds the number until the
-- branches are merged (take the trust branch's file).
SELECT 1;
