// evidential.js - the evidential portal: search recordings (#/recordings,
// by case reference, courtroom and date) and a recording's page
// (#/recording/ID): participants, the timeline of joins, moves,
// consultations and hearing states from the signed manifest, the files
// with size and SHA-256, the signature status, the composed file played in
// the page, the bundle downloaded, and verification on the server with its
// result per file (docs/api.md "Recordings").
//
// Invariants: media and bundles are fetched with the staff token in the
// Authorization header (never in a URL); the composed file is played
// through the files route with Range requests fed to a MediaSource (a
// browser without MediaSource for WebM gets the whole file as a blob), so
// it starts before it has all arrived; every text from the manifest is
// put in the DOM as text.

import { api, ApiError, listAll, staffToken } from './api.js';
import { $, announce, fill, fmtTime, h, notice, placeLabel, roleLabel, screen, setText } from './ui.js';

const CHUNK = 1 << 20; // bytes per Range request
const AHEAD_S = 120;    // fetch no further ahead of the playing position (the browser's MSE buffer is bounded)
const BEHIND_S = 60;    // media kept behind it
const COMPOSED = 'archive/hearing.webm';
let rooms = [];
let current = null;   // the recording shown
let player = null;    // {abort()} of the playback under way

function errText(e) { return (e && e.message) || String(e); }
const roomName = (id) => (rooms.find((r) => r.id === id) || {}).name || id;

export function fmtSize(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return n + ' bytes';
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return v.toFixed(1) + ' ' + u[i] + ' (' + n + ' bytes)';
}

// ---- search ----

export async function showSearch() {
  rooms = await listAll('/courtrooms');
  const sel = $('#rs-room');
  const keep = sel.value;
  fill(sel, h('option', { value: '' }, 'Any courtroom'), rooms.map((r) => h('option', { value: r.id }, r.name)));
  sel.value = rooms.some((r) => r.id === keep) ? keep : '';
  screen('s-recordings');
  await runSearch();
}

function searchQuery() {
  const q = new URLSearchParams();
  const ref = $('#rs-case').value.trim();
  if (ref) q.set('case_reference', ref);
  if ($('#rs-room').value) q.set('courtroom_id', $('#rs-room').value);
  const day = $('#rs-date').value; // YYYY-MM-DD in the browser's time zone
  if (day) {
    const from = new Date(day + 'T00:00:00');
    const to = new Date(from.getFullYear(), from.getMonth(), from.getDate() + 1);
    q.set('from', from.toISOString());
    q.set('to', to.toISOString());
  }
  return q.toString();
}

async function runSearch(ev) {
  if (ev) ev.preventDefault();
  notice('#rs-msg', '');
  let items;
  try {
    const q = searchQuery();
    items = await listAll('/recordings' + (q ? '?' + q : ''));
  } catch (e) {
    return notice('#rs-msg', errText(e));
  }
  items.sort((a, b) => (b.started_at || '').localeCompare(a.started_at || ''));
  setText('#rs-count', items.length === 1 ? '1 recording' : items.length + ' recordings');
  fill('#rs-results', items.length ? items.map((r) => h('tr', { dataset: { recording: r.id } },
    h('td', {}, h('a', { href: '#/recording/' + r.id }, r.case_reference)),
    h('td', {}, roomName(r.courtroom_id)), h('td', {}, fmtTime(r.started_at)), h('td', {}, fmtTime(r.closed_at)),
    h('td', {}, stateText(r))))
    : [h('tr', {}, h('td', { colspan: '5' }, 'No recording matches.'))]);
  if (ev) announce(items.length + ' recordings found.');
}

function stateText(r) {
  const out = [r.sealed_at ? 'sealed (revision ' + r.manifest_revision + ')' : r.state];
  if (r.media_deleted) out.push('media deleted at the end of retention');
  if (r.legal_hold && r.legal_hold.hold) out.push('legal hold');
  return out.join('; ');
}

// ---- one recording ----

function labels(m) {
  const out = new Map();
  for (const p of m.participants || []) out.set(p.participant_id, (p.label || '') + ' (' + roleLabel(p.role) + ')');
  return out;
}

// The timeline: the capture's events and the consultation periods, in time order.
export function timelineRows(m) {
  const who = labels(m);
  const name = (id) => who.get(id) || id;
  const rows = [];
  for (const e of m.timeline || []) {
    let text;
    switch (e.event) {
      case 'hearing.state': text = 'Hearing state: ' + (e.state || '').replace('_', ' '); break;
      case 'participant.joined': text = name(e.participant_id) + ' joined'; break;
      case 'participant.moved': text = name(e.participant_id) + ' moved to ' + placeLabel(e.place); break;
      case 'participant.left': text = name(e.participant_id) + ' left' + (e.reason ? ' (' + e.reason + ')' : ''); break;
      case 'participant.muted': text = name(e.participant_id) + ': ' + (e.kind === 'video' ? 'camera' : 'microphone') +
        (e.muted ? ' off' : ' on'); break;
      case 'special_measures': text = name(e.participant_id) + ': special measures changed'; break;
      default: text = e.event + (e.participant_id ? ' ' + name(e.participant_id) : '');
    }
    rows.push({ at: e.at, kind: e.event, text });
  }
  for (const c of m.consultations || []) {
    const ps = (c.participants || []).map(name).join(', ');
    rows.push({ at: c.from, kind: 'consultation', text: placeLabel(c.room) + ' began: ' + ps + '. ' +
      (c.statement || 'Private consultation: not recorded.') });
    if (c.to) rows.push({ at: c.to, kind: 'consultation', text: placeLabel(c.room) + ' ended' });
  }
  rows.sort((a, b) => (a.at || '').localeCompare(b.at || ''));
  return rows;
}

function fmtClock(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: 'short', timeStyle: 'medium' });
}

function signatureText(rec) {
  const s = rec.signature || {};
  if (s.valid === true) return 'Valid: the manifest is signed by this gateway\'s key (' + (s.algorithm || 'Ed25519') +
    ', key ' + (s.key_fingerprint || '').slice(0, 16) + '…).';
  if (s.valid === false) return 'NOT VALID: the manifest\'s signature does not match this gateway\'s key.';
  return 'Not sealed yet.';
}

function verificationText(v) {
  if (!v || v.state === 'unverified') return 'Not verified on the server yet.';
  return (v.state === 'ok' ? 'Verified: every file matches the manifest' : 'FAILED: see the files below') +
    (v.verified_at ? ' (' + fmtTime(v.verified_at) + ').' : '.');
}

export async function showRecording(id) {
  stopPlayer();
  if (!rooms.length) rooms = await listAll('/courtrooms').catch(() => []);
  const rec = await api('GET', '/recordings/' + encodeURIComponent(id));
  current = rec;
  const m = rec.manifest || {};
  const hearing = m.hearing || {};
  setText('#rec-h', 'Recording of ' + rec.case_reference + (hearing.title ? ': ' + hearing.title : ''));
  notice('#rec-msg', '');
  fill('#rec-facts',
    h('dt', {}, 'Courtroom'), h('dd', {}, hearing.courtroom_name || roomName(rec.courtroom_id)),
    h('dt', {}, 'Recorded'), h('dd', {}, fmtTime(rec.started_at) + ' to ' + fmtTime(rec.closed_at)),
    h('dt', {}, 'Sealed'), h('dd', {}, rec.sealed_at ? fmtTime(rec.sealed_at) + ', revision ' + rec.manifest_revision : 'not yet'),
    h('dt', {}, 'Signature'), h('dd', { id: 'rec-signature', dataset: { valid: String(!!(rec.signature && rec.signature.valid)) } },
      signatureText(rec)),
    h('dt', {}, 'Verification'), h('dd', { id: 'rec-verification' }, verificationText(rec.verification)),
    h('dt', {}, 'Legal hold'), h('dd', {}, rec.legal_hold && rec.legal_hold.hold ? 'yes: ' + rec.legal_hold.reason : 'no'),
    rec.media_deleted ? [h('dt', {}, 'Media'), h('dd', {}, 'deleted at the end of retention, ' + fmtTime(rec.media_deleted_at))] : null);
  fill('#rec-people', (m.participants || []).length ? m.participants.map((p) => h('tr', {},
    h('td', {}, p.label || ''), h('td', {}, roleLabel(p.role)),
    h('td', {}, (p.periods || []).map((x) => placeLabel(x.place) + ': ' + fmtClock(x.from) + ' to ' + fmtClock(x.to)).join('; '))))
    : [h('tr', {}, h('td', { colspan: '3' }, 'Nobody was recorded.'))]);
  fill('#rec-timeline', timelineRows(m).map((r) => h('li', { dataset: { kind: r.kind } },
    h('time', { datetime: r.at || '' }, fmtClock(r.at)), ' ', r.text)));
  fillFiles(rec.files || [], null);
  const composed = (rec.files || []).some((f) => f.name === COMPOSED) && !rec.media_deleted;
  $('#rec-play').hidden = !composed;
  $('#rec-player').hidden = true;
  $('#rec-bundle').disabled = !rec.sealed_at || rec.media_deleted;
  screen('s-recording');
}

function fillFiles(files, result) {
  const byName = new Map(((result && result.files) || []).map((f) => [f.name, f]));
  const m = current.manifest || {};
  const who = labels(m);
  const ofWhom = new Map((m.files || []).filter((f) => f.participant_id).map((f) => [f.name, who.get(f.participant_id)]));
  if (result) for (const f of result.files) if (!files.some((x) => x.name === f.name)) files = files.concat({ name: f.name, sha256: f.sha256 });
  fill('#rec-files', files.map((f) => {
    const v = byName.get(f.name);
    return h('tr', { dataset: { file: f.name } },
      h('td', {}, h('code', {}, f.name), ofWhom.get(f.name) ? h('div', { class: 'hint' }, ofWhom.get(f.name)) : null,
        f.name === COMPOSED ? h('div', { class: 'hint' }, 'the composed hearing') : null),
      h('td', {}, fmtSize(f.size)),
      h('td', {}, h('code', { class: 'hash' }, f.sha256 || '')),
      h('td', { class: v ? (v.ok ? 'ok' : 'bad') : '' }, v ? (v.ok ? 'OK' : 'FAILED: ' + (v.problem || 'differs')) : 'not checked'),
      h('td', {}, current.media_deleted ? '' : h('button', { type: 'button', class: 'secondary small',
        onclick: () => download('/recordings/' + current.id + '/files/' + f.name.split('/').map(encodeURIComponent).join('/'),
          f.name.split('/').pop()) }, 'Download', h('span', { class: 'visually-hidden' }, ' ' + f.name))));
  }));
}

// ---- verification ----

async function onVerify() {
  const btn = $('#rec-verify');
  btn.disabled = true;
  notice('#rec-msg', 'Verifying every file on the server…', 'warn');
  try {
    const r = await api('POST', '/recordings/' + current.id + '/verify', {});
    fillFiles(current.files || [], r);
    const bad = r.files.filter((f) => !f.ok).length;
    setText('#rec-verification', r.ok ? 'Verified just now: every file matches the manifest, both signatures valid.'
      : 'FAILED just now: ' + bad + ' file(s) do not match' + (r.manifest_signature_ok ? '' : '; the manifest signature is not valid') + '.');
    notice('#rec-msg', r.ok ? 'Verification passed: ' + r.files.length + ' files checked.' : 'Verification FAILED.', r.ok ? 'ok' : 'error');
    announce(r.ok ? 'Verification passed.' : 'Verification failed.');
  } catch (e) {
    notice('#rec-msg', errText(e));
  } finally {
    btn.disabled = false;
  }
}

// ---- downloads (the token goes in a header, so through fetch) ----

async function authFetch(path, headers = {}, signal) {
  const res = await fetch('/api/v1' + path, { headers: Object.assign({ Authorization: 'Bearer ' + staffToken() }, headers),
    credentials: 'omit', cache: 'no-store', signal });
  if (!res.ok && res.status !== 206) {
    let msg = res.statusText;
    try { msg = (await res.json()).error.message; } catch (e) { /* not JSON */ }
    throw new ApiError(res.status, res.status, msg);
  }
  return res;
}

async function download(path, filename) {
  notice('#rec-msg', 'Downloading ' + filename + '…', 'warn');
  try {
    const blob = await (await authFetch(path)).blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    notice('#rec-msg', filename + ' downloaded (' + fmtSize(blob.size) + ').', 'ok');
  } catch (e) {
    notice('#rec-msg', 'Download failed: ' + errText(e));
  }
}

// ---- playing the composed file ----

function stopPlayer() {
  if (player) player.abort();
  player = null;
  const v = $('#rec-video');
  if (v && v.src) { v.pause(); URL.revokeObjectURL(v.src); v.removeAttribute('src'); v.load(); }
}

// Waits until the buffer is less than AHEAD_S ahead of the playing
// position, then frees what lies more than BEHIND_S behind it.
async function makeRoom(video, sb, signal) {
  for (;;) {
    if (signal.aborted) return;
    const b = sb.buffered;
    if (!b.length || b.end(b.length - 1) - video.currentTime < AHEAD_S) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  const cut = video.currentTime - BEHIND_S;
  if (cut > 0 && sb.buffered.length && sb.buffered.start(0) < cut) {
    const done = new Promise((res) => sb.addEventListener('updateend', res, { once: true }));
    sb.remove(0, cut);
    await done;
  }
}

// Range requests of CHUNK bytes appended to a MediaSource as they arrive,
// never more than AHEAD_S seconds ahead of playback (a long hearing does not
// fill the browser's buffer); seeking works within what is buffered.
async function playRanges(video, path, type, signal) {
  const ms = new MediaSource();
  video.src = URL.createObjectURL(ms);
  await new Promise((res) => ms.addEventListener('sourceopen', res, { once: true }));
  const sb = ms.addSourceBuffer(type);
  const appended = () => new Promise((res, rej) => {
    sb.addEventListener('updateend', res, { once: true });
    sb.addEventListener('error', () => rej(new Error('the browser could not read the file')), { once: true });
  });
  let offset = 0, total = Infinity;
  while (offset < total && !signal.aborted) {
    await makeRoom(video, sb, signal);
    if (signal.aborted) break;
    const res = await authFetch(path, { Range: 'bytes=' + offset + '-' + (offset + CHUNK - 1) }, signal);
    if (res.status !== 206) throw new Error('the server did not answer the range request');
    const m = /\/(\d+)$/.exec(res.headers.get('content-range') || '');
    total = m ? Number(m[1]) : 0;
    const buf = await res.arrayBuffer();
    const done = appended();
    sb.appendBuffer(buf);
    await done;
    offset += buf.byteLength;
    video.dataset.loaded = String(offset);
    if (!buf.byteLength) break;
  }
  if (!signal.aborted && ms.readyState === 'open') ms.endOfStream();
}

async function onPlay() {
  stopPlayer();
  const video = $('#rec-video');
  const ctl = new AbortController();
  player = ctl;
  $('#rec-player').hidden = false;
  const path = '/recordings/' + current.id + '/files/' + COMPOSED + '?reason=' + encodeURIComponent('played in the evidential portal');
  const type = 'video/webm; codecs="vp8, opus"';
  try {
    if (window.MediaSource && MediaSource.isTypeSupported(type)) {
      video.dataset.mode = 'ranges';
      const p = playRanges(video, path, type, ctl.signal);
      video.play().catch(() => { /* shown by the controls */ });
      await p;
    } else {
      video.dataset.mode = 'whole';
      const blob = await (await authFetch(path, {}, ctl.signal)).blob();
      video.src = URL.createObjectURL(blob);
      await video.play().catch(() => {});
    }
  } catch (e) {
    if (!ctl.signal.aborted) notice('#rec-msg', 'The composed file cannot be played: ' + errText(e));
  }
}

export function leaveRecording() { stopPlayer(); }

export function initEvidential() {
  $('#rs-form').addEventListener('submit', runSearch);
  $('#rs-clear').addEventListener('click', () => { $('#rs-form').reset(); runSearch(); });
  $('#rec-verify').addEventListener('click', onVerify);
  $('#rec-play').addEventListener('click', onPlay);
  $('#rec-bundle').addEventListener('click', () => download('/recordings/' + current.id + '/bundle?reason=' +
    encodeURIComponent('bundle from the evidential portal'), current.id + '.tar'));
}
