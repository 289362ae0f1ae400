// rpc.js - the JSON-RPC 2.0 connection to the gateway (wss://HOST/ws,
// docs/protocol.md): requests with replies matched by id, notifications
// dispatched by method, automatic reconnection with session.resume.
//
// Invariants: at most one WebSocket at a time; every pending request is
// settled (result, RpcError or a closed-socket error) exactly once; the
// resume token is kept only through the `store` the caller gives (the join
// page and the console keep it in sessionStorage) and never logged; a
// session the server ended (session.closing, close 4009 "taken over", a
// refused token) is not reconnected unless the caller starts again.

export const RPC_TIMEOUT_MS = 15000;
const BACKOFF_MS = [300, 1000, 2000, 3000, 5000];

export class RpcError extends Error {
  constructor(method, error) {
    super((error && error.message) || 'error');
    this.method = method;
    this.code = error && error.code;
    this.data = (error && error.data) || null;
  }
}

export function wsUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}

// store: {token(): string|null, resume(): string|null, setResume(v|null)}
// Events ('state' detail {state, reason}; 'session' detail {hello, resumed}).
// States: connecting, open, reconnecting, closed (reason: closing reason,
// 'taken_over', 'refused' with detail.error, 'stopped').
export class Connection extends EventTarget {
  constructor(store, url = wsUrl()) {
    super();
    this.store = store;
    this.url = url;
    this.ws = null;
    this.nextId = 1;
    this.pending = new Map();
    this.handlers = new Map();
    this.state = 'idle';
    this.wanted = false;
    this.attempt = 0;
    this.hadSession = false;
    this.timer = null;
    this.hello = null;
  }

  on(method, fn) {
    if (!this.handlers.has(method)) this.handlers.set(method, []);
    this.handlers.get(method).push(fn);
  }

  start() {
    this.wanted = true;
    this.attempt = 0;
    this.open();
  }

  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, 'bye');
    this.setState('closed', 'stopped');
  }

  setState(state, reason = null, extra = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: Object.assign({ state, reason }, extra) }));
  }

  open() {
    clearTimeout(this.timer);
    this.setState(this.hadSession ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.retry();
      return;
    }
    this.ws = ws;
    this.terminal = null;
    ws.onopen = () => this.authenticate(ws);
    ws.onmessage = (e) => { if (ws === this.ws) this.onMessage(e.data); };
    ws.onclose = (e) => { if (ws === this.ws) this.onClose(e); };
  }

  async authenticate(ws) {
    let hello = null;
    let resumed = false;
    try {
      const resume = this.store.resume();
      if (resume) {
        try {
          hello = await this.call('session.resume', { resume_token: resume });
          resumed = true;
        } catch (e) {
          if (!(e instanceof RpcError)) throw e;
          this.store.setResume(null);
        }
      }
      if (!hello) {
        const token = this.store.token();
        if (!token) throw new RpcError('session.hello', { code: 4001, message: 'no token' });
        hello = await this.call('session.hello', { token });
      }
    } catch (e) {
      if (ws !== this.ws) return;
      if (e instanceof RpcError) {
        this.wanted = false;
        this.setState('closed', 'refused', { error: e });
        ws.close(1000, 'refused');
      } else {
        ws.close();
      }
      return;
    }
    this.store.setResume(hello.resume_token);
    this.hello = hello;
    this.attempt = 0;
    const again = this.hadSession;
    this.hadSession = true;
    this.setState('open');
    this.dispatchEvent(new CustomEvent('session', { detail: { hello, resumed, again } }));
  }

  onMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    if (typeof msg.method === 'string' && !('id' in msg)) {
      const params = msg.params || {};
      if (msg.method === 'session.closing') this.terminal = params.reason || 'closed';
      for (const fn of this.handlers.get(msg.method) || []) {
        try { fn(params); } catch (e) { console.error(msg.method + ' handler: ' + e.message); }
      }
      for (const fn of this.handlers.get('*') || []) fn(msg.method, params);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.error) p.reject(new RpcError(p.method, msg.error));
    else p.resolve(msg.result || {});
  }

  onClose(e) {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(p.method + ': connection lost'));
    }
    this.pending.clear();
    this.ws = null;
    if (this.state === 'closed') return;
    if (this.terminal) {
      this.wanted = false;
      this.setState('closed', this.terminal);
    } else if (e.code === 4009) {
      this.wanted = false;
      this.setState('closed', 'taken_over');
    } else if (this.wanted) {
      this.retry();
    } else {
      this.setState('closed', 'stopped');
    }
  }

  retry() {
    const wait = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    this.attempt++;
    this.setState(this.hadSession ? 'reconnecting' : 'connecting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (this.wanted) this.open(); }, wait);
  }

  // Drops the socket at once (network change): reconnects and resumes.
  kick() {
    if (this.ws) this.ws.close(4000, 'reconnect');
  }

  call(method, params = {}, timeout = RPC_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new Error(method + ': not connected'));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(method + ': no answer from the server'));
      }, timeout);
      this.pending.set(id, { resolve, reject, method, timer });
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  // A client notification (no reply): only webrtc.candidate is executed.
  notify(method, params = {}) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN)
      this.ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
  }
}

// A store backed by sessionStorage under `prefix` (tokens never go to
// localStorage: closing the tab forgets them).
export function sessionStore(prefix, tokenKey) {
  return {
    token: () => sessionStorage.getItem(prefix + tokenKey),
    resume: () => sessionStorage.getItem(prefix + 'resume'),
    setResume: (v) => {
      if (v) sessionStorage.setItem(prefix + 'resume', v);
      else sessionStorage.removeItem(prefix + 'resume');
    },
  };
}
