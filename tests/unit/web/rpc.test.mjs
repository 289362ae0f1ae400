// Unit tests of web/js/rpc.js (the JSON-RPC connection) against a fake
// WebSocket: replies matched by id, notifications by method, resume after a
// drop (falling back to hello), no reconnection after the server ended the
// session, a refused token or a takeover.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const sockets = [];
class FakeSocket {
  static OPEN = 1;
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.handlers = {}; // method -> (params) => result or {error}
    sockets.push(this);
    setTimeout(() => { this.readyState = 1; this.onopen && this.onopen(); }, 0);
  }
  send(text) {
    const msg = JSON.parse(text);
    this.sent.push(msg);
    const h = this.handlers[msg.method] || FakeSocket.defaults[msg.method];
    if (!('id' in msg) || !h) return;
    const r = h(msg.params, this);
    if (r === undefined) return; // never answered
    setTimeout(() => this.deliver(r && r.error ? { jsonrpc: '2.0', id: msg.id, error: r.error }
      : { jsonrpc: '2.0', id: msg.id, result: r }), 0);
  }
  deliver(obj) { this.onmessage && this.onmessage({ data: JSON.stringify(obj) }); }
  close(code = 1006) {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose && this.onclose({ code }), 0);
  }
}
FakeSocket.defaults = {};
globalThis.WebSocket = FakeSocket;
globalThis.location = { protocol: 'https:', host: 'court.test' };

const { Connection, RpcError } = await import('../../../web/js/rpc.js');

function memStore(token) {
  const s = { token, resume: null };
  return { token: () => s.token, resume: () => s.resume, setResume: (v) => { s.resume = v; }, s };
}

const wait = (ms) => new Promise((r) => setTimeout(r, ms));
function next(conn, type, pred = () => true) {
  return new Promise((resolve) => {
    const f = (e) => { if (pred(e.detail)) { conn.removeEventListener(type, f); resolve(e.detail); } };
    conn.addEventListener(type, f);
  });
}

let n = 0;
FakeSocket.defaults = {
  'session.hello': (p) => (p.token === 'good' ? { session_id: 's', resume_token: 'r' + ++n, identity: {} }
    : { error: { code: 4001, message: 'token expired' } }),
  'session.resume': (p) => (p.resume_token === 'r' + n ? { session_id: 's', resume_token: 'r' + ++n, identity: {} }
    : { error: { code: 4001, message: 'unknown, used or expired resume token' } }),
  'hearing.join': () => ({ place: 'lobby' }),
  'hearing.admit': () => ({ error: { code: 4003, message: 'this role may not do that', data: { field: 'x' } } }),
};

test('hello, requests, errors and notifications', async () => {
  const store = memStore('good');
  const c = new Connection(store, 'wss://court.test/ws');
  const session = next(c, 'session');
  c.start();
  const s = await session;
  assert.equal(s.resumed, false);
  assert.equal(store.s.resume, 'r' + n);
  assert.deepEqual(await c.call('hearing.join', {}), { place: 'lobby' });
  await assert.rejects(c.call('hearing.admit', { participant_id: 'p' }), (e) =>
    e instanceof RpcError && e.code === 4003 && e.data.field === 'x');
  const got = [];
  c.on('hearing.state', (p) => got.push(p.state));
  sockets.at(-1).deliver({ jsonrpc: '2.0', method: 'hearing.state', params: { state: 'open' } });
  assert.deepEqual(got, ['open']);
  c.notify('webrtc.candidate', { pc: 'publish', candidate: '' });
  assert.ok(!('id' in sockets.at(-1).sent.at(-1)));
  c.stop();
});

test('a dropped socket reconnects and resumes; a stale resume token falls back to hello', async () => {
  const store = memStore('good');
  const c = new Connection(store, 'wss://court.test/ws');
  const first = next(c, 'session');
  c.start();
  await first;
  const states = [];
  c.addEventListener('state', (e) => states.push(e.detail.state));
  const again = next(c, 'session');
  sockets.at(-1).close(1006);
  const s = await again;
  assert.equal(s.resumed, true);
  assert.equal(s.again, true);
  assert.ok(states.includes('reconnecting'));
  assert.equal(sockets.at(-1).sent[0].method, 'session.resume');
  // the resume token went stale (used elsewhere): hello with the page's token
  store.s.resume = 'stale';
  const third = next(c, 'session');
  sockets.at(-1).close(1006);
  const t = await third;
  assert.equal(t.resumed, false);
  assert.deepEqual(sockets.at(-1).sent.map((m) => m.method), ['session.resume', 'session.hello']);
  c.stop();
});

test('pending requests fail when the socket drops', async () => {
  const c = new Connection(memStore('good'), 'wss://court.test/ws');
  const first = next(c, 'session');
  c.start();
  await first;
  sockets.at(-1).handlers['hearing.leave'] = () => undefined; // never answered
  try {
    const p = c.call('hearing.leave', {});
    sockets.at(-1).close(1006);
    await assert.rejects(p, /connection lost/);
  } finally {
    c.stop();
  }
});

test('no reconnection after session.closing, a takeover or a refused token', async () => {
  for (const [how, reason] of [['closing', 'hearing_closed'], ['4009', 'taken_over'], ['refused', 'refused']]) {
    const c = new Connection(memStore(how === 'refused' ? 'bad' : 'good'), 'wss://court.test/ws');
    const closed = next(c, 'state', (d) => d.state === 'closed');
    const before = sockets.length;
    c.start();
    if (how !== 'refused') {
      await next(c, 'session');
      const ws = sockets.at(-1);
      if (how === 'closing') {
        ws.deliver({ jsonrpc: '2.0', method: 'session.closing', params: { reason: 'hearing_closed' } });
        ws.close(1000);
      } else {
        ws.close(4009);
      }
    }
    const d = await closed;
    assert.equal(d.reason, reason, how);
    if (how === 'refused') assert.equal(d.error.code, 4001);
    await wait(400);
    assert.equal(sockets.length, before + 1, how + ': no new socket');
  }
});
