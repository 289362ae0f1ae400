"""Evidential REST (PROTOCOL.md "Evidential staff", DESIGN.md 5): a hearing
that was in session has a recording; search, manifest, files with Range,
verify, bundle, the signing key; every access audited. Media-free: the
recording of a hearing in which nobody published holds no media, but its
manifest, hashes and signature exist. Skipped while /api/v1/recordings is
not routed (404 for an evidential user)."""

import asyncio
import datetime
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import pid_of  # noqa: E402


class RecordingsTest(harness.DaemonTestCase):

    def evid(self, method, path, body=None, **kw):
        return self.daemon.api(method, path, body, token=self.world.token('evidential'), **kw)

    def skip_if_missing(self):
        r = self.evid('GET', '/recordings')
        if r.status == 404:
            self.skipTest('/api/v1/recordings not implemented yet')
        self.assertEqual(r.status, 200, r)

    async def recorded_hearing(self, case_reference):
        """A hearing taken through open, in_session (with a consultation
        while adjourned) to closed; returns (hearing id, participant)."""
        w = self.world
        hid = w.new_hearing(case_reference=case_reference)
        p = w.add_participant(hid, 'Rec Defendant', 'defendant')
        clerk = await self.staff_ws('clerk', hid)
        await clerk.call('hearing.set_state', {'state': 'open'})
        rpc = await self.join_ws(p)
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted', lambda q: pid_of(q) == p['participant_id'])
        await clerk.call('hearing.set_state', {'state': 'in_session'})
        await asyncio.sleep(0.5)
        await clerk.call('hearing.set_state', {'state': 'adjourned'})
        await clerk.call('hearing.move', {'participant_id': p['participant_id'],
                                          'place': 'consultation:rec1'})
        await asyncio.sleep(0.3)
        await clerk.call('hearing.move', {'participant_id': p['participant_id'], 'place': 'main'})
        await clerk.call('hearing.set_state', {'state': 'in_session'})
        await asyncio.sleep(0.3)
        await clerk.call('hearing.set_state', {'state': 'closed'})
        await clerk.wait_closed()
        return hid, p

    async def find_recording(self, case_reference, timeout=30):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            r = self.evid('GET', '/recordings?case_reference=%s' % case_reference)
            self.assertEqual(r.status, 200, r)
            self.assertIn('next_cursor', r.body)
            if r.body['items']:
                return r.body['items']
            if loop.time() > deadline:
                self.fail('no recording listed for %s within %d s' % (case_reference, timeout))
            await asyncio.sleep(0.5)

    async def test_recording_lifecycle(self):
        self.skip_if_missing()
        d, w = self.daemon, self.world
        since = harness.now_utc() - datetime.timedelta(seconds=2)
        hid, p = await self.recorded_hearing('T/REC-1')
        items = await self.find_recording('T/REC-1')
        self.assertEqual(len(items), 1, items)
        rec = items[0]
        rid = rec['id']
        self.assertTrue(rid.startswith('rec_'), rec)
        # filters
        r = self.evid('GET', '/recordings?courtroom_id=%s' % w.courtroom_id)
        self.assertIn(rid, [x['id'] for x in r.body['items']])
        r = self.evid('GET', '/recordings?case_reference=T/NOSUCH')
        self.assertEqual(r.body['items'], [])
        r = self.evid('GET', '/recordings?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z')
        self.assertNotIn(rid, [x['id'] for x in r.body['items']])
        # the manifest
        r = self.evid('GET', '/recordings/%s' % rid)
        self.assertEqual(r.status, 200, r)
        man = r.body
        text = json.dumps(man)
        self.assertIn(hid, text)
        self.assertIn('T/REC-1', text)
        self.assertIn(p['participant_id'], text)
        for k in ('files', 'signature'):
            self.assertIn(k, json.dumps(list(man.keys())) + text, man.keys())
        self.assertIn('consultation', text, 'the manifest states the consultation period')
        self.assertNotIn(p['join_token'], text)
        files = man.get('files') or man.get('manifest', {}).get('files') or []
        # verify, then check each file's hash by downloading it
        r = self.evid('POST', '/recordings/%s/verify' % rid, {})
        self.assertEqual(r.status, 200, r)
        self.assertIs(r.body['ok'], True, r.body)
        for f in r.body['files']:
            self.assertIs(f['ok'], True, f)
            self.assertRegex(f['sha256'], r'^[0-9a-f]{64}$')
            r2 = self.evid('GET', '/recordings/%s/files/%s' % (rid, f['name']))
            self.assertEqual(r2.status, 200, r2)
            self.assertEqual(hashlib.sha256(r2.raw).hexdigest(), f['sha256'], f['name'])
            if len(r2.raw) >= 10:
                r3 = self.evid('GET', '/recordings/%s/files/%s' % (rid, f['name']),
                               headers={'Range': 'bytes=2-9'})
                self.assertEqual(r3.status, 206, r3)
                self.assertEqual(r3.raw, r2.raw[2:10])
                self.assertRegex(r3.headers.get('content-range', ''),
                                 r'^bytes 2-9/%d$' % len(r2.raw))
        self.assertEqual(len(files), len(r.body['files']))
        r = self.evid('GET', '/recordings/%s/files/nosuchfile.webm' % rid)
        self.assertApiError(r, 404, 4004)
        r = self.evid('GET', '/recordings/%s/bundle' % rid)
        self.assertEqual(r.status, 200, r)
        self.assertGreater(len(r.raw), 0)
        r = self.evid('GET', '/keys')
        self.assertEqual(r.status, 200, r)
        # only evidential staff (and never a participant) reads recordings
        for who in ('clerk', 'judge'):
            r = d.api('GET', '/recordings/%s' % rid, token=w.token(who))
            self.assertIn(r.status, (200, 403), r)
        r = d.api('GET', '/recordings/%s' % rid, token=p['join_token'])
        self.assertApiError(r, 401, 4001)
        # every listing, download and verification is audited
        await asyncio.sleep(0.5)
        actions = [(e['action'], e['target'])
                   for e in harness.audit_entries(d, w.token('admin'), since)]
        self.assertTrue(any('recording' in a and t == rid for a, t in actions), actions)
        self.assertTrue(any('verify' in a for a, t in actions), actions)


if __name__ == '__main__':
    harness.main()
