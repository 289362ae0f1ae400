// live.js - the live hearing for staff on the WebSocket: the clerk's
// console (lobby queue with Admit; per participant Move, Mute, Remove;
// hearing state buttons; roster as the clerk sees it; alerts and requests;
// recording state) and the judge's bench view (state buttons, admit, mute,
// remove; no moves, which only clerks may make). Either may join with
// camera and microphone or only watch and listen.
//
// Invariants: one live connection at a time (closeLive ends it); every
// control sends one documented JSON-RPC request and the screen changes only
// from the server's notifications, so it always shows what the server
// decided; a refused request shows the server's message.

import { Connection } from './rpc.js';
import { staffToken } from './api.js';
import { Media } from './media.js';
import { Roster } from './roster.js';
import { Tiles } from './tiles.js';
import { $, announce, fill, h, notice, partyName, placeLabel, setText, STATE_LABELS } from './ui.js';

const NEXT = {
  scheduled: [['open', 'Open the hearing']],
  open: [['in_session', 'Start the session (recorded)']],
  in_session: [['adjourned', 'Adjourn']],
  adjourned: [['in_session', 'Resume the session (recorded)']],
  closed: [],
};

let live = null;
const drafts = new Map(); // participant id -> {place, room}: a move being chosen, kept across re-renders

// The control that has the focus, as a selector that finds its successor
// after a re-render (rows are rebuilt from the server's view).
function focusKey() {
  const el = document.activeElement;
  if (!el || !el.dataset) return null;
  for (const k of ['move', 'room', 'moveGo', 'remove', 'admit']) {
    if (el.dataset[k]) return '[data-' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()) + '="' + el.dataset[k] + '"]';
  }
  if (el.dataset.mute) return '[data-mute="' + el.dataset.mute + '"][data-kind="' + el.dataset.kind + '"]';
  if (el.dataset.state) return '#live-state-buttons [data-state="' + el.dataset.state + '"]';
  return null;
}

// The staff token, and a resume token per hearing: a socket is in one
// hearing, so another hearing's session must not be resumed for this one.
function liveStore(hearingId) {
  const key = 'vej.s.resume.' + hearingId;
  return {
    token: () => staffToken(),
    resume: () => sessionStorage.getItem(key),
    setResume: (v) => (v ? sessionStorage.setItem(key, v) : sessionStorage.removeItem(key)),
  };
}

export function closeLive() {
  if (!live) return;
  drafts.clear();
  // leaving the live screen leaves the hearing (a reload does not come here)
  const conn = live.conn;
  sessionStorage.removeItem('vej.s.resume.' + live.hearing.id);
  conn.call('hearing.leave', {}, 2000).catch(() => {}).finally(() => conn.stop());
  if (live.media) live.media.close();
  if (live.stream) for (const t of live.stream.getTracks()) t.stop();
  if (live.tiles) live.tiles.destroy();
  fill('#live-tiles');
  fill('#audio-out');
  live = null;
}

export function openLive(hearing, accountRole) {
  closeLive();
  const conn = new Connection(liveStore(hearing.id));
  const roster = new Roster(conn);
  live = { conn, roster, hearing, accountRole, media: null, stream: null, tiles: null, recording: null, requests: [] };
  const L = live;
  setText('#live-h', 'Live: ' + hearing.case_reference + (hearing.title ? ' - ' + hearing.title : ''));
  fill('#alerts');
  fill('#roster');
  fill('#lobby');
  notice('#live-msg', '');
  conn.addEventListener('state', (e) => {
    const { state, reason, error } = e.detail;
    setText('#live-conn', state === 'open' ? 'Connected to the hearing.' : state === 'reconnecting'
      ? 'Connection lost: reconnecting…' : state === 'closed' ? 'Disconnected' + (reason === 'hearing_closed'
        ? ': the hearing is closed.' : reason === 'refused' ? ': ' + error.message : '.') : 'Connecting…');
    if (state === 'closed' && reason === 'hearing_closed') {
      announce('The hearing is closed.');
      if (L.media) L.media.close();
    }
  });
  conn.addEventListener('session', async () => {
    try {
      roster.load(await conn.call('hearing.join', { hearing_id: hearing.id }));
      if (L.media) L.media.afterResume();
    } catch (e) {
      notice('#live-msg', 'Could not join the hearing: ' + e.message);
    }
  });
  conn.on('recording.state', (p) => { L.recording = p; render(); });
  roster.addEventListener('change', (e) => {
    const { method, params } = e.detail;
    if (method === 'lobby.waiting') announce(partyName(params.participant) + ' is waiting in the lobby.');
    render();
  });
  // the bench sees the courtroom first; the clerk's console leads with control
  const av = $('#live-av'), people = $('#live-people');
  if (accountRole === 'judge') people.before(av);
  else people.after(av);
  $('#btn-av').onclick = () => startMedia(true);
  $('#btn-watch').onclick = () => startMedia(false);
  $('#btn-av').disabled = $('#btn-watch').disabled = false;
  conn.start();
}

async function call(method, params, done) {
  if (!live) return;
  try {
    const r = await live.conn.call(method, Object.assign({ hearing_id: live.hearing.id }, params));
    if (done) announce(done);
    notice('#live-msg', '');
    return r;
  } catch (e) {
    notice('#live-msg', method + ': ' + e.message);
    return null;
  }
}

function stateButtons(state) {
  const mine = live.roster.self();
  const bench = mine && ['clerk', 'judge'].includes(mine.role);
  if (!bench) return [];
  const out = (NEXT[state] || []).map(([to, label]) =>
    h('button', { type: 'button', dataset: { state: to }, onclick: () => call('hearing.set_state', { state: to }, label + ': done.') }, label));
  if (state !== 'closed')
    out.push(h('button', { type: 'button', class: 'danger', dataset: { state: 'closed' }, onclick: () => {
      if (confirm('Close the hearing? Everyone is disconnected and it cannot be reopened.'))
        call('hearing.set_state', { state: 'closed' }, 'Hearing closed.');
    } }, 'Close the hearing'));
  return out;
}

function recordingText(state) {
  const r = live.recording;
  if (r && r.state === 'failed') return 'Recording FAILED' + (r.reason ? ': ' + r.reason : '') + '. Tell the court manager.';
  if (r && r.state === 'archiving') return 'Recording is being archived' + (r.progress != null ? ' (' + r.progress + '%)' : '') + '.';
  if (r && r.state === 'archived') return 'Recording archived.';
  if (state === 'in_session') return 'Recording: on. Everything said in the main courtroom is recorded.';
  return 'Recording: off (the hearing is not in session). Consultation rooms are never recorded.';
}

function moveControls(p) {
  const name = partyName(p);
  const id = p.participant_id;
  const sel = h('select', { 'aria-label': 'Move ' + name + ' to', dataset: { move: id } },
    h('option', { value: 'main', text: 'Main courtroom' }),
    h('option', { value: 'consultation', text: 'Consultation room' }),
    h('option', { value: 'lobby', text: 'Lobby' }));
  const room = h('input', { type: 'text', value: 'defence', maxlength: '32', 'aria-label': 'Consultation room name for ' + name,
                            dataset: { room: id }, class: 'room' });
  const cur = p.place || '';
  sel.value = cur.startsWith('consultation:') ? 'consultation' : cur === 'lobby' ? 'lobby' : 'main';
  if (cur.startsWith('consultation:')) room.value = cur.slice(13);
  const d = drafts.get(id);
  if (d) {
    sel.value = d.place;
    room.value = d.room;
  }
  const keep = () => drafts.set(id, { place: sel.value, room: room.value });
  const showRoom = () => { room.hidden = sel.value !== 'consultation'; };
  showRoom();
  sel.addEventListener('change', () => { keep(); showRoom(); });
  room.addEventListener('input', keep);
  return [sel, room, h('button', { type: 'button', class: 'small', dataset: { moveGo: id }, onclick: () => {
    drafts.delete(id);
    const place = sel.value === 'consultation' ? 'consultation:' + room.value.trim().toLowerCase() : sel.value;
    call('hearing.move', { participant_id: id, place }, name + ' moved to ' + placeLabel(place) + '.');
  } }, 'Move', h('span', { class: 'visually-hidden' }, ' ' + name))];
}

function rosterRow(p, isClerk) {
  const id = p.participant_id;
  const name = partyName(p);
  const real = id.startsWith('ptc_');
  const mine = id === live.roster.me;
  const controls = [];
  if (real && !mine) {
    if (isClerk) controls.push(...moveControls(p));
    for (const kind of ['audio', 'video']) {
      const muted = !!(p.muted && p.muted[kind]);
      const what = kind === 'audio' ? 'microphone' : 'camera';
      controls.push(h('button', { type: 'button', class: 'secondary small', 'aria-pressed': String(muted),
        dataset: { mute: id, kind }, onclick: () => call('hearing.mute', { participant_id: id, kind, muted: !muted },
          name + (muted ? ' ' + what + ' allowed.' : ' ' + what + ' muted.')) },
        muted ? 'Allow ' + what : 'Mute ' + what, h('span', { class: 'visually-hidden' }, ' of ' + name)));
    }
    controls.push(h('button', { type: 'button', class: 'danger small', dataset: { remove: id }, onclick: () => {
      if (confirm('Remove ' + name + ' from the hearing? Their link stops working for good.'))
        call('hearing.remove', { participant_id: id }, name + ' removed.');
    } }, 'Remove', h('span', { class: 'visually-hidden' }, ' ' + name)));
  }
  const flags = [];
  if (p.muted && p.muted.audio) flags.push('microphone muted');
  if (p.muted && p.muted.video) flags.push('camera muted');
  return h('tr', { dataset: { participant: id, place: p.place } },
    h('td', {}, name + (mine ? ' (you)' : ''), flags.length ? h('div', { class: 'hint' }, flags.join(', ')) : null),
    h('td', {}, placeLabel(p.place)),
    h('td', {}, h('div', { class: 'row' }, controls)));
}

function render() {
  if (!live || !live.roster.hearing) return;
  const R = live.roster;
  const state = R.hearing.state;
  const focused = focusKey();
  const mine = R.self();
  const isClerk = !!mine && mine.role === 'clerk';
  setText('#live-state', STATE_LABELS[state] || state);
  setText('#live-recording', recordingText(state));
  fill('#live-state-buttons', stateButtons(state));
  fill('#live-banners', state === 'in_session' ? h('p', { class: 'banner recorded', role: 'status' }, 'This hearing is being recorded.') : null);
  const lobby = R.lobby();
  setText('#lobby-count', String(lobby.length));
  fill('#lobby', lobby.length ? lobby.map((p) => h('li', { dataset: { participant: p.participant_id } },
    h('span', { class: 'grow' }, partyName(p)),
    h('button', { type: 'button', class: 'small', dataset: { admit: p.participant_id },
                  onclick: () => call('hearing.admit', { participant_id: p.participant_id }, partyName(p) + ' admitted.') },
      'Admit', h('span', { class: 'visually-hidden' }, ' ' + partyName(p)))))
    : [h('li', {}, 'Nobody is waiting.')]);
  const inside = [...R.people.values()].filter((p) => p.place !== 'lobby');
  fill('#roster', inside.map((p) => rosterRow(p, isClerk)));
  // a lobby alert is done with once that person has left the lobby
  const alerts = R.alerts.filter((a) => a.code !== 'lobby_waiting' ||
    (R.people.get(a.participant_id) || {}).place === 'lobby').slice(0, 20);
  fill('#alerts', alerts.length ? alerts.map((a) => h('li', { dataset: { code: a.code } },
    h('span', { class: 'tag' }, a.severity || 'info'),
    h('span', { class: 'grow' }, a.at.toLocaleTimeString() + ' ' + alertText(a))))
    : [h('li', {}, 'No alerts.')]);
  if (live.tiles) live.tiles.render();
  if (focused && !document.activeElement.closest('#s-live .row, #lobby, #roster')) {
    const again = document.querySelector(focused);
    if (again) again.focus();
  }
}

function alertText(a) {
  const p = a.participant_id && live.roster.people.get(a.participant_id);
  const who = p ? partyName(p) : 'A participant';
  if (a.code === 'lobby_waiting') return who + ' is waiting in the lobby.';
  if (a.code === 'media_failed') return who + ': their sound and video connection failed.';
  if (a.code === 'consultation_requested') return who + ' asks to speak privately with their advocate.';
  return (p ? who + ': ' : '') + (a.message || a.code);
}

async function startMedia(withDevices) {
  const L = live;
  if (!L || L.media) return;
  $('#btn-av').disabled = $('#btn-watch').disabled = true;
  L.media = new Media(L.conn);
  L.tiles = new Tiles($('#live-tiles'), $('#audio-out'), L.roster, L.media);
  try {
    if (withDevices) {
      L.stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
      L.tiles.setSelf(L.stream);
      await L.media.publish(L.stream);
    }
    await L.media.subscribe();
    L.tiles.render();
  } catch (e) {
    notice('#live-msg', 'Sound and video could not start: ' + e.message);
  }
}

