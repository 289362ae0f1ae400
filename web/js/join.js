// join.js - the participant's page, /join#t=JOIN_TOKEN[&kiosk=1]: the
// equipment self-test, the lobby, the hearing (tiles, own toggles, banners,
// connection quality, request to speak privately) and the end.
//
// Invariants: the join token leaves the address bar at once and lives only
// in sessionStorage (with the resume token): a reload stays in the hearing,
// closing the tab forgets both; tokens are never logged. What the server
// decides (admission, moves, mutes, removal, hearing state,
// session.closing) is shown as soon as its notification arrives. The
// "recorded" banner follows the hearing state and recording.state, the
// private banner the participant's consultation place.

import { Connection, RpcError, sessionStore } from './rpc.js';
import { Media } from './media.js';
import { Roster } from './roster.js';
import { Tiles } from './tiles.js';
import { openDevices, runSelfTest, selfTestServer } from './selftest.js';
import { reportUnsupported } from './support.js';
import { $, announce, fill, h, notice, placeLabel, roleLabel, screen, setText } from './ui.js';

const P = 'vej.p.';
const store = sessionStore(P, 'join');
const state = { conn: null, roster: null, media: null, tiles: null, stream: null, devices: null,
                joined: false, recording: null, kiosk: false, ended: false, micOn: true, camOn: true };

function takeTokenFromAddress() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const t = frag.get('t');
  if (t) {
    if (sessionStorage.getItem(P + 'join') !== t) {
      for (const k of ['resume', 'devices', 'passed']) sessionStorage.removeItem(P + k);
    }
    sessionStorage.setItem(P + 'join', t);
    if (frag.get('kiosk') === '1') sessionStorage.setItem(P + 'kiosk', '1');
  }
  if (location.hash) history.replaceState(null, '', location.pathname);
  return !!sessionStorage.getItem(P + 'join');
}

function forget() {
  for (const k of ['join', 'resume', 'devices', 'passed', 'kiosk']) sessionStorage.removeItem(P + k);
}

const CONN_TEXT = { connecting: 'Connecting…', open: 'Connected', reconnecting: 'Connection lost: reconnecting…',
                    closed: 'Disconnected' };

function refusedText(e) {
  if (e.code === 4001) return 'This link no longer works (' + e.message + '). Ask the court for a new link.';
  if (e.code === 4003) return 'This link cannot be used here (' + e.message + ').';
  return 'The court\'s server refused the connection (' + e.message + ').';
}

function onConnState(ev) {
  const { state: st, reason, error } = ev.detail;
  setText('#conn-state', CONN_TEXT[st] || st);
  if (st === 'reconnecting') announce('Connection lost. Reconnecting.');
  if (st !== 'closed') return;
  if (reason === 'refused') {
    if (!state.joined && !sessionStorage.getItem(P + 'passed')) {
      state.connError = refusedText(error);
      if (!selfTestServer(false, state.connError)) showSelfTest(null);
    } else end('This link no longer works', refusedText(error));
    forget();
  } else if (reason === 'taken_over') {
    end('This hearing is open somewhere else', 'You opened this hearing in another tab or on another device, so this page stopped. You can carry on here instead.', true);
  } else if (reason === 'hearing_closed') {
    forget();
    end('The hearing has ended', 'The court has closed this hearing. You can close this tab.');
  } else if (reason === 'removed') {
    forget();
    end('You have been removed from the hearing', 'The court removed you from this hearing. Contact the court if you think this is a mistake.');
  } else if (reason === 'shutdown') {
    notice('#hearing-msg', 'The court\'s server is restarting. This page will reconnect by itself.', 'warn');
    setTimeout(() => state.conn.start(), 3000);
  }
}

function end(title, text, canRejoin = false) {
  state.ended = true;
  if (state.media) state.media.close();
  if (state.stream) for (const t of state.stream.getTracks()) t.stop();
  state.media = null;
  state.stream = null;
  setText('#ended-h', title);
  setText('#ended-msg', text);
  $('#btn-rejoin').hidden = !canRejoin;
  setText('#quality', '');
  screen('s-ended');
  announce(title);
}

function rejoin() {
  location.reload();
}

async function onSession(ev) {
  const { hello, again } = ev.detail;
  if (again && !state.joined) {
    // back during the self-test: it goes on
    selfTestServer(true, 'connected');
    return;
  }
  if (again) {
    // back after a drop: place and roster again, then media checked
    await join();
    state.media.afterResume();
    announce('Reconnected.');
    return;
  }
  const passed = sessionStorage.getItem(P + 'passed');
  if (selfTestServer(true, 'connected')) return;
  if (!passed) {
    showSelfTest(hello);
    return;
  }
  // a reload: the self-test was passed in this tab
  try {
    const got = await openDevices(JSON.parse(sessionStorage.getItem(P + 'devices') || '{}'));
    state.stream = got.stream;
  } catch (e) {
    sessionStorage.removeItem(P + 'passed');
    showSelfTest(hello);
    return;
  }
  state.devices = JSON.parse(sessionStorage.getItem(P + 'devices') || '{}');
  await enter();
}

async function showSelfTest(hello) {
  screen('s-selftest');
  const role = hello && hello.identity && hello.identity.role;
  const res = await runSelfTest({ hello, connError: state.connError, kiosk: state.kiosk, listenOnly: role === 'observer',
                                  saved: JSON.parse(sessionStorage.getItem(P + 'devices') || '{}') });
  state.stream = res.stream;
  state.devices = res.devices;
  sessionStorage.setItem(P + 'devices', JSON.stringify(res.devices));
  sessionStorage.setItem(P + 'passed', '1');
  $('#st-preview').srcObject = null;
  if (state.kiosk && document.documentElement.requestFullscreen)
    document.documentElement.requestFullscreen().catch(() => {});
  await enter();
}

async function join() {
  const res = await state.conn.call('hearing.join', {});
  state.joined = true;
  state.roster.load(res);
}

async function enter() {
  try {
    await join();
  } catch (e) {
    end('You could not join the hearing', e instanceof RpcError && e.code === 4009
      ? 'The hearing cannot be joined now (' + e.message + ').' : e.message);
    // a kiosk (a fixed endpoint nobody operates) tries again by itself
    if (state.kiosk && !(e instanceof RpcError && e.code === 4001)) setTimeout(rejoin, 10000);
    return;
  }
  const hearing = state.roster.hearing;
  setText('#hearing-name', hearing.case_reference + (hearing.title ? ' - ' + hearing.title : ''));
  state.tiles.sinkId = state.devices && state.devices.speaker;
  state.tiles.setSelf(state.stream);
  $('#lobby-preview').srcObject = state.stream;
  render();
  try {
    if (state.roster.self() && state.roster.self().role !== 'observer' && state.stream)
      await state.media.publish(state.stream);
    await state.media.subscribe();
  } catch (e) {
    notice('#hearing-msg', 'Your video connection could not be started: ' + e.message, 'error');
  }
  setInterval(updateQuality, 1000);
}

function recorded() {
  const h = state.roster.hearing;
  return !!h && h.state === 'in_session' && !['stopped', 'failed'].includes(state.recording);
}

function banners(ids = true) {
  const place = state.roster.place || '';
  const out = [];
  if (place.startsWith('consultation:'))
    out.push(h('p', { class: 'banner private', role: 'status', id: ids ? 'banner-private' : null },
      'Private consultation, not recorded. Only the people in this room can see and hear you.'));
  else if (recorded())
    out.push(h('p', { class: 'banner recorded', role: 'status', id: ids ? 'banner-recorded' : null },
      'This hearing is being recorded.'));
  const st = state.roster.hearing && state.roster.hearing.state;
  if (place === 'main' && st !== 'in_session')
    out.push(h('p', { class: 'banner state', role: 'status' },
      st === 'adjourned' ? 'The hearing is adjourned. Nobody in the courtroom can hear you until it resumes.'
        : 'The hearing has not started yet. Nobody in the courtroom can hear you until it does.'));
  return out;
}

function render() {
  if (state.ended || !state.roster.hearing) return;
  const place = state.roster.place;
  const me = state.roster.self();
  if (place === 'lobby') {
    fill('#lobby-banners', banners(false));
    const hr = state.roster.hearing;
    setText('#lobby-hearing', 'Hearing: ' + hr.case_reference + (hr.title ? ', ' + hr.title : '') +
      (me ? '. You are joining as ' + roleLabel(me.role) + '.' : ''));
    if (!$('#s-lobby').hidden) return;
    screen('s-lobby');
    return;
  }
  fill('#banners', banners());
  setText('#hearing-h', place && place.startsWith('consultation:') ? 'Private consultation' : 'Courtroom');
  setText('#hearing-where', placeLabel(place) + (me ? '. You are ' + roleLabel(me.role) + '.' : ''));
  $('#btn-private').hidden = !me || me.role !== 'defendant';
  const muted = (me && me.muted) || {};
  $('#btn-mic').disabled = !!muted.audio;
  $('#btn-cam').disabled = !!muted.video;
  state.tiles.render();
  if ($('#s-hearing').hidden) screen('s-hearing');
}

function onRosterChange(ev) {
  const { method, params } = ev.detail;
  const mine = params && params.participant && params.participant.participant_id === state.roster.me;
  if (method === 'participant.admitted' && mine) announce('You have been admitted to the hearing.');
  if (method === 'participant.moved' && mine) {
    const place = params.place || '';
    announce(place.startsWith('consultation:') ? 'You are now in a private consultation. It is not recorded.'
      : place === 'main' ? 'You are back in the main courtroom.' : 'You have been moved to the lobby.');
    if (place !== 'lobby') screen('s-hearing');
  }
  if (method === 'participant.muted' && params.participant_id === state.roster.me) {
    const what = params.kind === 'audio' ? 'microphone' : 'camera';
    const text = params.muted ? 'The court turned your ' + what + ' off.' : 'The court turned your ' + what + ' back on.';
    notice('#hearing-msg', text, 'warn');
    announce(text);
  }
  if (method === 'hearing.state') {
    const s = params.state;
    announce(s === 'in_session' ? 'The hearing is in session and being recorded.'
      : s === 'adjourned' ? 'The hearing is adjourned.' : 'The hearing is ' + s.replace('_', ' ') + '.');
  }
  render();
}

async function updateQuality() {
  if (!state.media || state.ended) return;
  const q = await state.media.quality();
  const el = $('#quality');
  el.dataset.level = q.level;
  const words = { good: 'good', fair: 'fair', poor: 'poor',
                  offline: q.stalled ? 'nothing arriving' : 'no media connection' };
  el.textContent = 'Connection: ' + words[q.level] + (q.rttMs ? ' (' + q.rttMs + ' ms)' : '');
  if (q.level === 'offline' && state.lastLevel !== 'offline') announce('Your connection to the court is interrupted.');
  state.lastLevel = q.level;
}

function toggle(kind) {
  if (!state.stream) return;
  const tracks = kind === 'audio' ? state.stream.getAudioTracks() : state.stream.getVideoTracks();
  const key = kind === 'audio' ? 'micOn' : 'camOn';
  state[key] = !state[key];
  for (const t of tracks) t.enabled = state[key];
  const btn = kind === 'audio' ? $('#btn-mic') : $('#btn-cam');
  const what = kind === 'audio' ? 'microphone' : 'camera';
  btn.setAttribute('aria-pressed', String(!state[key]));
  btn.textContent = (state[key] ? 'Turn ' + what + ' off' : 'Turn ' + what + ' on');
  announce('Your ' + what + ' is ' + (state[key] ? 'on' : 'off') + '.');
}

async function requestPrivate() {
  try {
    await state.conn.call('hearing.request', { kind: 'consultation' });
    notice('#hearing-msg', 'Your request has been sent to the clerk.', 'ok');
  } catch (e) {
    notice('#hearing-msg', e.code === -32601
      ? 'This court\'s system cannot pass the request on. Please tell the court that you want to speak with your advocate.'
      : 'Your request could not be sent: ' + e.message, 'error');
  }
}

async function leave() {
  if (!confirm('Leave the hearing? You will need your link to come back.')) return;
  try { await state.conn.call('hearing.leave', {}); } catch (e) { /* leaving anyway */ }
  state.conn.stop();
  forget();
  end('You have left the hearing', 'You can close this tab. To come back, open your link again.');
}

function main() {
  const haveToken = takeTokenFromAddress();
  if (reportUnsupported($('#unsupported'))) return;
  if (!haveToken) {
    screen('s-nolink');
    return;
  }
  state.kiosk = sessionStorage.getItem(P + 'kiosk') === '1';
  document.body.classList.toggle('kiosk', state.kiosk);
  const conn = new Connection(store);
  state.conn = conn;
  state.roster = new Roster(conn);
  state.media = new Media(conn);
  state.tiles = new Tiles($('#tiles'), $('#audio-out'), state.roster, state.media);
  conn.on('recording.state', (p) => { state.recording = p.state; render(); });
  conn.addEventListener('state', onConnState);
  conn.addEventListener('session', (ev) => onSession(ev).catch((e) => notice('#hearing-msg', e.message)));
  state.roster.addEventListener('change', onRosterChange);
  state.media.addEventListener('state', () => updateQuality());
  $('#btn-mic').onclick = () => toggle('audio');
  $('#btn-cam').onclick = () => toggle('video');
  $('#btn-private').onclick = requestPrivate;
  $('#btn-leave').onclick = leave;
  $('#btn-rejoin').onclick = rejoin;
  // the device's network came back (or changed): a kiosk reconnects at once;
  // everyone checks their media connections
  window.addEventListener('online', () => {
    if (state.kiosk) conn.kick();
    else if (state.media && state.joined) state.media.afterResume();
  });
  conn.start();
  // a connection that cannot open at all still gets the self-test, which says so
  setTimeout(() => {
    if (conn.state !== 'open' && !state.joined && $('#s-selftest').hidden && !state.ended) {
      state.connError = 'the court\'s server cannot be reached from this network';
      showSelfTest(null);
    }
  }, 6000);
}

main();
