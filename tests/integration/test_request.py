"""hearing.request (docs/protocol.md): a participant asks to speak
privately with their advocate; the hearing's admitted clerks are alerted,
the request is audited, repeated requests are rate-limited, and nobody in
the lobby can make one."""

import asyncio
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class RequestTest(harness.DaemonTestCase):

    async def test_consultation_request_reaches_the_clerk(self):
        w = self.world
        hid = w.new_hearing()
        p = w.add_participant(hid, 'Req Defendant', 'defendant')
        clerk = await self.staff_ws('clerk', hid)
        self.assertEqual(w.set_state(hid, 'open').status, 200)
        rpc = await self.join_ws(p)
        # in the lobby: not yet
        reply = await rpc.request('hearing.request', {'kind': 'consultation'})
        self.assertEqual(reply['error']['code'], 4009, reply)
        await clerk.call('hearing.admit', {'participant_id': p['participant_id']})
        await rpc.wait_for('participant.admitted')
        reply = await rpc.request('hearing.request', {'kind': 'lunch'})
        self.assertEqual(reply['error']['code'], -32602, reply)
        self.assertEqual(await rpc.call('hearing.request', {'kind': 'consultation'}), {})
        alert = await clerk.wait_for('alert', lambda q: q.get('code') == 'consultation_requested')
        self.assertEqual(alert['participant_id'], p['participant_id'])
        self.assertEqual(alert['severity'], 'info')
        self.assertNotIn('Req Defendant', alert['message'])
        # once every 30 s at most
        reply = await rpc.request('hearing.request', {'kind': 'consultation'})
        self.assertEqual(reply['error']['code'], 4029, reply)
        entries = []
        for _ in range(50):  # audit entries are group-committed by a writer thread
            db = sqlite3.connect(os.path.join(self.daemon.data_dir, 'vej.db'))
            entries = db.execute('SELECT target, detail FROM audit_log WHERE action = ?',
                                 ('participant.request',)).fetchall()
            db.close()
            if entries:
                break
            await asyncio.sleep(0.1)
        self.assertEqual(len(entries), 1)
        self.assertIn(p['participant_id'], entries[0][1])
        self.assertNotIn('Req Defendant', entries[0][1])


if __name__ == '__main__':
    harness.main()
