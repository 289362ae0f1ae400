// console.js - the staff console at /: sign-in (and the forced first
// password change), courtrooms, scheduling hearings, participants with
// role, special measures and joining links, and the way into the live
// hearing (live.js); the admin's accounts (admin.js) and the evidential
// portal (evidential.js). Routes live in the fragment (#/courtroom/ID,
// #/hearing/ID, #/live/ID, #/accounts, #/recordings, #/recording/ID) so that back, forward and reload work.
//
// Invariants: the staff token is kept in sessionStorage only; joining links
// are held in memory only for the page's life (a reload needs a new link,
// which revokes the old one, and the console says so); what the server
// refuses is shown with its message and changes nothing on screen.

import { api, ApiError, listAll, setStaffToken, staffToken } from './api.js';
import { initAccount, showAccount } from './account.js';
import { initAdmin, showAccounts } from './admin.js';
import { initEvidential, leaveRecording, showRecording, showSearch } from './evidential.js';
import { openLive, closeLive } from './live.js';
import { reportUnsupported } from './support.js';
import { $, announce, fill, fmtTime, h, notice, ROLE_LABELS, roleLabel, screen, setText, STAFF_LABELS, STATE_LABELS } from './ui.js';

const me = { role: sessionStorage.getItem('vej.s.role') || null, user: sessionStorage.getItem('vej.s.user') || '' };
const links = new Map(); // participant id -> join_url (this page's life only)
const cache = { courtrooms: new Map(), hearings: new Map() };
let mustChange = sessionStorage.getItem('vej.s.must') === '1';

function setSession(res, username) {
  setStaffToken(res.token);
  me.role = res.role;
  me.user = username || me.user;
  mustChange = !!res.must_change_password;
  if (res.totp_enrolment_required) sessionStorage.setItem('vej.s.totp_required', '1');
  else sessionStorage.removeItem('vej.s.totp_required');
  sessionStorage.setItem('vej.s.role', me.role);
  sessionStorage.setItem('vej.s.user', me.user);
  sessionStorage.setItem('vej.s.must', mustChange ? '1' : '0');
}

function clearSession() {
  setStaffToken(null);
  for (const k of Object.keys(sessionStorage)) if (k.startsWith('vej.s.')) sessionStorage.removeItem(k);
  me.role = null;
}

function chrome() {
  const signedIn = !!staffToken();
  $('#nav').hidden = !signedIn || mustChange;
  $('#btn-logout').hidden = !signedIn;
  $('#nav-courtrooms').hidden = me.role === 'evidential';
  $('#nav-accounts').hidden = me.role !== 'admin';
  $('#nav-recordings').hidden = !['evidential', 'admin'].includes(me.role);
  setText('#who', signedIn ? me.user + ' (' + (STAFF_LABELS[me.role] || me.role) + ')' : '');
  $('#who').hidden = !signedIn || mustChange;
}

function errText(e) {
  return e instanceof ApiError ? e.message : String(e && e.message || e);
}

// ---- routes ----

async function route() {
  chrome();
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  if (parts[0] !== 'live') closeLive();
  if (parts[0] !== 'recording') leaveRecording();
  if (!staffToken()) return screen('s-login');
  if (mustChange) return screen('s-password');
  if (sessionStorage.getItem('vej.s.totp_required') === '1')
    return showAccount(false, 'Your role must sign in with a second factor: set it up now to continue.');
  try {
    if (parts[0] === 'account') return showAccount(null);
    if (parts[0] === 'courtroom' && parts[1]) return await showCourtroom(parts[1]);
    if (parts[0] === 'hearing' && parts[1]) return await showHearing(parts[1]);
    if (parts[0] === 'live' && parts[1]) return await showLive(parts[1]);
    if (parts[0] === 'accounts' && me.role === 'admin') return await showAccounts();
    if (parts[0] === 'recordings') return await showSearch();
    if (parts[0] === 'recording' && parts[1]) return await showRecording(parts[1]);
    if (me.role === 'evidential') return await showSearch();
    return await showHome();
  } catch (e) {
    if (!staffToken()) return route();
    screen('s-home');
    notice('#home-msg', errText(e));
  }
}

// ---- sign-in ----

async function onLogin(ev) {
  ev.preventDefault();
  const username = $('#login-user').value.trim();
  const password = $('#login-pass').value;
  notice('#login-error', '');
  try {
    const body = { username, password };
    const code = $('#login-code').value.replace(/[\s-]/g, '');
    if (code) body[/^\d{6}$/.test(code) ? 'totp_code' : 'recovery_code'] = code;
    const res = await api('POST', '/login', body);
    setSession(res, username);
    $('#login-pass').value = '';
    $('#login-code').value = '';
    $('#login-code-box').hidden = true;
    if (mustChange) $('#pw-current').value = password;
    announce('Signed in.');
    route();
  } catch (e) {
    if (e.status === 401 && /second-factor code is required/.test(e.message)) {
      $('#login-code-box').hidden = false;
      $('#login-code').focus();
      return notice('#login-error', 'This account has a second factor: type the code your authenticator app shows (or a recovery code).', 'warn');
    }
    notice('#login-error', e.status === 401 ? ($('#login-code-box').hidden ? 'Wrong username or password.'
      : 'Wrong username, password or code.') : e.status === 429
      ? 'Too many attempts. Wait a minute and try again.' : errText(e));
  }
}

async function onPassword(ev) {
  ev.preventDefault();
  const cur = $('#pw-current').value, nw = $('#pw-new').value, again = $('#pw-confirm').value;
  notice('#password-error', '');
  if (nw !== again) return notice('#password-error', 'The two new passwords are not the same.');
  try {
    const res = await api('POST', '/account/password', { current_password: cur, new_password: nw });
    setSession(res);
    for (const id of ['#pw-current', '#pw-new', '#pw-confirm']) $(id).value = '';
    announce('Password changed.');
    route();
  } catch (e) {
    notice('#password-error', e.status === 401 ? 'The current password is wrong.' : errText(e));
  }
}

async function onLogout() {
  closeLive();
  try { await api('POST', '/logout'); } catch (e) { /* signed out anyway */ }
  clearSession();
  location.hash = '#/';
  route();
}

// ---- courtrooms ----

async function showHome() {
  const rooms = await listAll('/courtrooms');
  for (const r of rooms) cache.courtrooms.set(r.id, r);
  fill('#courtrooms', rooms.length ? rooms.map((r) => h('li', {},
    h('span', { class: 'grow' }, h('a', { href: '#/courtroom/' + r.id }, r.name)),
    h('span', { class: 'hint' }, r.time_zone)))
    : [h('li', {}, me.role === 'clerk' || me.role === 'admin' ? 'No courtrooms yet: add one below.'
      : 'You have no courtrooms.')]);
  $('#courtroom-create').hidden = !['clerk', 'admin'].includes(me.role);
  if (!$('#cr-tz').value) $('#cr-tz').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  $('#admin-hint').hidden = me.role !== 'admin';
  screen('s-home');
}

async function onCourtroom(ev) {
  ev.preventDefault();
  try {
    const r = await api('POST', '/courtrooms', { name: $('#cr-name').value.trim(),
      retention_days: Number($('#cr-retention').value), time_zone: $('#cr-tz').value.trim() });
    $('#cr-name').value = '';
    cache.courtrooms.set(r.id, r);
    announce('Courtroom ' + r.name + ' added.');
    location.hash = '#/courtroom/' + r.id;
  } catch (e) {
    notice('#home-msg', errText(e));
  }
}

// ---- hearings ----

async function courtroom(id) {
  if (!cache.courtrooms.has(id)) for (const r of await listAll('/courtrooms')) cache.courtrooms.set(r.id, r);
  const r = cache.courtrooms.get(id);
  if (!r) throw new ApiError(404, 4004, 'courtroom not found');
  return r;
}

let currentRoom = null;

async function showCourtroom(id) {
  const room = await courtroom(id);
  currentRoom = room;
  setText('#courtroom-h', room.name);
  notice('#courtroom-msg', '');
  const date = $('#hr-filter').value;
  const list = await listAll('/hearings?courtroom_id=' + encodeURIComponent(id) + (date ? '&date=' + date : ''));
  list.sort((a, b) => a.starts_at.localeCompare(b.starts_at));
  for (const x of list) cache.hearings.set(x.id, x);
  fill('#hearings', list.length ? list.map((x) => h('tr', {},
    h('td', {}, h('a', { href: '#/hearing/' + x.id }, x.case_reference)),
    h('td', {}, x.title), h('td', {}, fmtTime(x.starts_at)), h('td', {}, STATE_LABELS[x.state] || x.state),
    h('td', {}, x.state === 'closed' || !['clerk', 'judge'].includes(me.role) ? '' : h('a', { href: '#/live/' + x.id, class: 'button' },
      me.role === 'judge' ? 'Bench view' : 'Run live', h('span', { class: 'visually-hidden' }, ' ' + x.case_reference)))))
    : [h('tr', {}, h('td', { colspan: '5' }, 'No hearings' + (date ? ' on that day.' : ' yet.')))]);
  $('#hearing-create').hidden = !['clerk', 'admin'].includes(me.role);
  if (!$('#hf-start').value) {
    const d = new Date(Date.now() + 10 * 60000);
    d.setSeconds(0, 0);
    const pad = (n) => String(n).padStart(2, '0');
    $('#hf-start').value = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  screen('s-courtroom');
}

async function onHearing(ev) {
  ev.preventDefault();
  const start = new Date($('#hf-start').value);
  if (isNaN(start)) return notice('#courtroom-msg', 'Starts: give a date and a time.');
  const end = new Date(start.getTime() + Number($('#hf-length').value) * 60000);
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  try {
    const x = await api('POST', '/hearings', { courtroom_id: currentRoom.id, case_reference: $('#hf-case').value.trim(),
      title: $('#hf-title').value.trim(), starts_at: iso(start), ends_at: iso(end) });
    cache.hearings.set(x.id, x);
    $('#hf-case').value = '';
    $('#hf-title').value = '';
    announce('Hearing ' + x.case_reference + ' scheduled.');
    location.hash = '#/hearing/' + x.id;
  } catch (e) {
    notice('#courtroom-msg', errText(e));
  }
}

// ---- participants ----

let currentHearing = null;

function measuresText(m) {
  const out = [];
  if (m.screened_from && m.screened_from.length)
    out.push('screened from ' + m.screened_from.map((r) => (ROLE_LABELS[r] || r).toLowerCase()).join(', '));
  if (m.audio_only) out.push('sound only');
  if (m.anonymous) out.push('anonymous');
  return out.join('; ') || 'none';
}

function linkCell(p) {
  if (p.removed) return h('td', {}, 'removed');
  if (me.role !== 'clerk') return h('td', {}, '');
  const url = links.get(p.id);
  const name = p.display_name;
  if (!url)
    return h('td', {}, h('button', { type: 'button', class: 'secondary small', onclick: () => reissue(p) },
      'New link', h('span', { class: 'visually-hidden' }, ' for ' + name)));
  const input = h('input', { type: 'text', readonly: true, value: url, 'aria-label': 'Joining link for ' + name,
                             dataset: { link: p.id } });
  const copy = async (text, what) => {
    try {
      await navigator.clipboard.writeText(text);
      announce(what + ' copied.');
      notice('#hearing-msg', what + ' for ' + name + ' copied. Send it only to them.', 'ok');
    } catch (e) {
      input.select();
      notice('#hearing-msg', 'Select the link and copy it (the browser did not allow copying).', 'warn');
    }
  };
  return h('td', {}, input, h('div', { class: 'row' },
    h('button', { type: 'button', class: 'small', onclick: () => copy(url, 'Joining link') },
      'Copy link', h('span', { class: 'visually-hidden' }, ' for ' + name)),
    h('button', { type: 'button', class: 'secondary small', onclick: () => copy(url + '&kiosk=1', 'Kiosk link') },
      'Copy kiosk link', h('span', { class: 'visually-hidden' }, ' for ' + name))));
}

async function reissue(p) {
  if (!confirm('Make a new joining link for ' + p.display_name + '? Any earlier link stops working.')) return;
  try {
    const r = await api('POST', '/hearings/' + currentHearing.id + '/participants/' + p.id + '/token');
    links.set(p.id, r.join_url);
    await showHearing(currentHearing.id, true);
  } catch (e) {
    notice('#hearing-msg', errText(e));
  }
}

async function showHearing(id, keepMsg) {
  const x = await api('GET', '/hearings/' + id);
  currentHearing = x;
  cache.hearings.set(x.id, x);
  $('#hearing-back').href = '#/courtroom/' + x.courtroom_id;
  setText('#hearing-h', x.case_reference + (x.title ? ': ' + x.title : ''));
  setText('#hearing-info', fmtTime(x.starts_at) + ' to ' + fmtTime(x.ends_at) + '. State: ' + (STATE_LABELS[x.state] || x.state) + '.');
  if (!keepMsg) notice('#hearing-msg', '');
  $('#btn-live').hidden = x.state === 'closed' || !['clerk', 'judge'].includes(me.role);
  $('#btn-live').textContent = me.role === 'judge' ? 'Open the bench view' : 'Run the live hearing';
  let ps = [];
  try {
    ps = (await api('GET', '/hearings/' + id + '/participants')).items;
  } catch (e) {
    if (e.status !== 403) throw e;
    fill('#participants', h('tr', {}, h('td', { colspan: '4' }, 'Only clerks and judges see the participants.')));
    $('#participant-create').hidden = true;
    screen('s-hearing');
    return;
  }
  const canEdit = ['clerk', 'judge'].includes(me.role) && x.state !== 'closed';
  fill('#participants', ps.length ? ps.map((p) => h('tr', { dataset: { participant: p.id } },
    h('td', {}, p.display_name), h('td', {}, roleLabel(p.role)),
    h('td', {}, measuresText(p.special_measures), canEdit && !p.removed ? h('div', {},
      h('button', { type: 'button', class: 'secondary small', dataset: { edit: p.id }, onclick: (e) => editMeasures(p, e.target) },
        'Change', h('span', { class: 'visually-hidden' }, ' special measures of ' + p.display_name))) : null),
    linkCell(p)))
    : [h('tr', {}, h('td', { colspan: '4' }, 'Nobody yet.'))]);
  $('#participant-create').hidden = me.role !== 'clerk' || x.state === 'closed';
  screen('s-hearing');
}

function measureInputs(prefix, m) {
  m = m || { screened_from: [], audio_only: false, anonymous: false };
  return [
    h('p', { class: 'hint' }, 'Screened from: these roles will not see this person\'s video, and see them by role only.'),
    h('div', {}, Object.entries(ROLE_LABELS).map(([r, label]) => h('label', { class: 'inline' },
      h('input', { type: 'checkbox', value: r, name: prefix + '-screened', checked: m.screened_from.includes(r) }), label))),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: prefix + '-audio-only', checked: !!m.audio_only }),
      'Sound only (no video at all)'),
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', name: prefix + '-anonymous', checked: !!m.anonymous }),
      'Anonymous (name withheld)'),
  ];
}

function readMeasures(root, prefix) {
  const screened = [...root.querySelectorAll(`input[name=${prefix}-screened]:checked`)].map((i) => i.value);
  // ptc_ entries are kept: this form edits role entries only
  return { screened_from: screened, audio_only: root.querySelector(`input[name=${prefix}-audio-only]`).checked,
           anonymous: root.querySelector(`input[name=${prefix}-anonymous]`).checked };
}

// An inline form under the participant's row: PATCH special_measures.
function editMeasures(p, button) {
  const row = button.closest('tr');
  if (row.nextElementSibling && row.nextElementSibling.classList.contains('edit')) return;
  const keepIds = (p.special_measures.screened_from || []).filter((e) => e.startsWith('ptc_'));
  const box = h('fieldset', {}, h('legend', {}, 'Special measures of ' + p.display_name), measureInputs('em', p.special_measures));
  const close = () => { editRow.remove(); button.focus(); };
  const save = async () => {
    const m = readMeasures(box, 'em');
    m.screened_from = m.screened_from.concat(keepIds);
    try {
      await api('PATCH', '/hearings/' + currentHearing.id + '/participants/' + p.id, { special_measures: m });
      await showHearing(currentHearing.id, true);
      notice('#hearing-msg', 'Special measures of ' + p.display_name + ' changed. They apply at once.', 'ok');
      announce('Special measures changed.');
    } catch (e) {
      notice('#hearing-msg', errText(e));
    }
  };
  const editRow = h('tr', { class: 'edit' }, h('td', { colspan: '4' }, box, h('div', { class: 'row' },
    h('button', { type: 'button', onclick: save }, 'Save'),
    h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel'))));
  row.after(editRow);
  box.querySelector('input').focus();
}

function buildParticipantForm() {
  fill('#pf-role', Object.entries(ROLE_LABELS).filter(([r]) => r !== 'clerk')
    .map(([r, label]) => h('option', { value: r, text: label })));
  $('#pf-role').value = 'defendant';
  fill('#pf-screened', Object.entries(ROLE_LABELS).map(([r, label]) =>
    h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: r, name: 'screened' }), label)));
}

async function onParticipant(ev) {
  ev.preventDefault();
  const screened = [...document.querySelectorAll('#pf-screened input:checked')].map((i) => i.value);
  const body = { display_name: $('#pf-name').value.trim(), role: $('#pf-role').value,
                 special_measures: { screened_from: screened, audio_only: $('#pf-audio-only').checked,
                                     anonymous: $('#pf-anonymous').checked } };
  try {
    const r = await api('POST', '/hearings/' + currentHearing.id + '/participants', body);
    links.set(r.participant_id, r.join_url);
    $('#pf-name').value = '';
    for (const i of document.querySelectorAll('#participant-form input[type=checkbox]')) i.checked = false;
    await showHearing(currentHearing.id, true);
    notice('#hearing-msg', body.display_name + ' added. Copy their joining link below and send it to them alone.', 'ok');
    announce(body.display_name + ' added.');
  } catch (e) {
    notice('#hearing-msg', errText(e));
  }
}

// ---- live ----

async function showLive(id) {
  const x = await api('GET', '/hearings/' + id);
  cache.hearings.set(x.id, x);
  $('#live-back').href = '#/hearing/' + x.id;
  screen('s-live');
  openLive(x, me.role);
}

function main() {
  if (reportUnsupported($('#unsupported'), { media: false })) return;
  $('#login-form').addEventListener('submit', onLogin);
  $('#password-form').addEventListener('submit', onPassword);
  $('#courtroom-form').addEventListener('submit', onCourtroom);
  $('#hearing-form').addEventListener('submit', onHearing);
  $('#participant-form').addEventListener('submit', onParticipant);
  $('#btn-logout').addEventListener('click', onLogout);
  $('#btn-live').addEventListener('click', () => { location.hash = '#/live/' + currentHearing.id; });
  $('#hr-filter').addEventListener('change', () => currentRoom && showCourtroom(currentRoom.id));
  $('#hr-all').addEventListener('click', () => { $('#hr-filter').value = ''; if (currentRoom) showCourtroom(currentRoom.id); });
  buildParticipantForm();
  initAdmin();
  initAccount();
  initEvidential();
  window.addEventListener('hashchange', route);
  route();
}

main();
