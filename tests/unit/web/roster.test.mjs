// Unit tests of web/js/roster.js: the receiver's view of a hearing kept
// from hearing.join and notifications (docs/protocol.md, "Notifications").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster } from '../../../web/js/roster.js';

function fakeConn() {
  const handlers = new Map();
  return {
    on: (m, fn) => handlers.set(m, (handlers.get(m) || []).concat(fn)),
    emit: (m, p) => (handlers.get(m) || []).forEach((fn) => fn(p)),
  };
}

const party = (id, role, place, extra = {}) =>
  Object.assign({ participant_id: id, role, place, muted: { audio: false, video: false } }, extra);

test('lobby, admission, moves, mutes, leaving', () => {
  const conn = fakeConn();
  const r = new Roster(conn);
  const changes = [];
  r.addEventListener('change', (e) => changes.push(e.detail.method));
  r.load({ hearing: { id: 'h', state: 'open' }, participant_id: 'me', place: 'lobby',
           participants: [party('me', 'defendant', 'lobby', { display_name: 'D' })] });
  assert.equal(r.place, 'lobby');
  assert.deepEqual(r.inPlace('main'), []);
  // admitted: the subject gets its new roster
  conn.emit('participant.admitted', { participant: party('me', 'defendant', 'main', { display_name: 'D' }),
    participants: [party('c', 'clerk', 'main', { display_name: 'C' }), party('me', 'defendant', 'main'),
                   party('anon_1', 'witness', 'main')] });
  assert.equal(r.place, 'main');
  assert.deepEqual(r.inPlace('main').map((p) => p.participant_id), ['c', 'anon_1']);
  // someone else moves away: one participant.moved with the new place
  conn.emit('participant.moved', { participant: party('anon_1', 'witness', 'consultation:x'), place: 'consultation:x' });
  assert.deepEqual(r.inPlace('main').map((p) => p.participant_id), ['c']);
  conn.emit('participant.muted', { participant_id: 'c', kind: 'audio', muted: true });
  assert.equal(r.people.get('c').muted.audio, true);
  assert.equal(r.people.get('c').muted.video, false);
  conn.emit('hearing.state', { state: 'in_session' });
  assert.equal(r.hearing.state, 'in_session');
  // me moved to a consultation: a fresh roster
  conn.emit('participant.moved', { participant: party('me', 'defendant', 'consultation:x'), place: 'consultation:x',
    participants: [party('me', 'defendant', 'consultation:x'), party('anon_1', 'witness', 'consultation:x')] });
  assert.equal(r.place, 'consultation:x');
  assert.deepEqual(r.inPlace('consultation:x').map((p) => p.participant_id), ['anon_1']);
  assert.equal(r.people.has('c'), false);
  conn.emit('participant.left', { participant_id: 'anon_1', reason: 'left' });
  assert.deepEqual(r.inPlace('consultation:x'), []);
  assert.deepEqual(changes, ['hearing.join', 'participant.admitted', 'participant.moved', 'participant.muted',
    'hearing.state', 'participant.moved', 'participant.left']);
});

test('clerk view: lobby queue and alerts', () => {
  const conn = fakeConn();
  const r = new Roster(conn);
  r.load({ hearing: { id: 'h', state: 'open' }, participant_id: 'c', place: 'main',
           participants: [party('c', 'clerk', 'main')] });
  conn.emit('lobby.waiting', { participant: party('p1', 'defendant', 'lobby', { display_name: 'D' }) });
  conn.emit('alert', { code: 'lobby_waiting', severity: 'info', participant_id: 'p1', message: 'm' });
  assert.deepEqual(r.lobby().map((p) => p.participant_id), ['p1']);
  assert.equal(r.alerts[0].code, 'lobby_waiting');
  conn.emit('participant.admitted', { participant: party('p1', 'defendant', 'main', { display_name: 'D' }) });
  assert.deepEqual(r.lobby(), []);
  conn.emit('participant.updated', { participant: party('p1', 'defendant', 'main', { display_name: 'Dan' }) });
  assert.equal(r.people.get('p1').display_name, 'Dan');
});
