// admin.js - the administrator's accounts screen (#/accounts): the staff
// accounts (docs/api.md "Accounts (admin)"), creating one (username, role,
// courtrooms; its one-time password is shown once), disabling and enabling,
// resetting a password, courtroom assignment, revoking sessions and
// removing a second factor.
//
// Invariants: a one-time password lives only in the DOM of this screen until
// the admin leaves it (never stored, never logged); every change is made by
// the server, and the list is read again from it afterwards, so the screen
// never shows a state the server refused. Each person enrols their own
// second factor (account.js); the admin can only remove one (totp-reset).

import { api, listAll } from './api.js';
import { $, announce, fill, fmtTime, h, notice, screen, setText, STAFF_LABELS } from './ui.js';

let rooms = [];          // every courtroom (admins see all their metadata)
let myId = null;
const busy = new Set(); // 'action:user id' under way: a second click (a double click) does nothing

// Runs fn once at a time per key.
async function once(key, fn) {
  if (busy.has(key)) return;
  busy.add(key);
  try { await fn(); } finally { busy.delete(key); }
}

function errText(e) { return (e && e.message) || String(e); }

function roomName(id) {
  const r = rooms.find((x) => x.id === id);
  return r ? r.name : id;
}

function hideSecret() {
  fill('#acct-secret');
  $('#acct-secret').hidden = true;
}

// Shows a one-time password once, with what to do with it.
function showSecret(username, password, why) {
  const box = $('#acct-secret');
  fill(box, h('h2', { id: 'acct-secret-h' }, 'One-time password for ' + username),
    h('p', {}, why + ' Give it to ' + username + ' in person or by a channel only they read: it is shown only now, ' +
      'and they must choose their own password when they first sign in.'),
    h('p', {}, h('code', { id: 'acct-secret-value', class: 'secret' }, password)),
    h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary small', onclick: () => { hideSecret(); $('#af-user').focus(); } },
      'I have noted it: hide the password')));
  box.hidden = false;
  box.focus();
}

function roomChecks(name, chosen) {
  if (!rooms.length) return [h('p', { class: 'hint' }, 'No courtrooms yet. A clerk who adds one is assigned to it.')];
  return rooms.map((r) => h('label', { class: 'inline' },
    h('input', { type: 'checkbox', name, value: r.id, checked: chosen.includes(r.id) }), r.name));
}

function patch(u, body, done) { return once('patch:' + u.id, () => doPatch(u, body, done)); }

async function doPatch(u, body, done) {
  try {
    await api('PATCH', '/users/' + u.id, body);
    await showAccounts(true);
    notice('#acct-msg', done, 'ok');
    announce(done);
  } catch (e) {
    notice('#acct-msg', errText(e));
  }
}

function resetPassword(u) { return once('reset:' + u.id, () => doReset(u)); }

async function doReset(u) {
  if (!confirm('Reset the password of ' + u.username + '? They are signed out everywhere at once.')) return;
  hideSecret();
  try {
    const r = await api('POST', '/users/' + u.id + '/password-reset');
    await showAccounts(true);
    notice('#acct-msg', 'Password of ' + u.username + ' reset; they are signed out.', 'ok');
    showSecret(u.username, r.password, 'The new password of ' + u.username + '.');
  } catch (e) {
    notice('#acct-msg', errText(e));
  }
}

function totpReset(u) {
  return once('totp:' + u.id, async () => {
    if (!confirm('Remove the second factor of ' + u.username + '? They are signed out and can sign in with the password alone.')) return;
    try {
      await api('POST', '/users/' + u.id + '/totp-reset');
      await showAccounts(true);
      notice('#acct-msg', 'Second factor of ' + u.username + ' removed; they are signed out.', 'ok');
    } catch (e) {
      notice('#acct-msg', errText(e));
    }
  });
}

async function revoke(u) {
  try {
    await api('POST', '/users/' + u.id + '/sessions/revoke');
    notice('#acct-msg', u.username + ' is signed out everywhere.', 'ok');
    announce(u.username + ' signed out everywhere.');
  } catch (e) {
    notice('#acct-msg', errText(e));
  }
}

// An inline form under the account's row: PATCH courtrooms.
function editRooms(u, button) {
  const row = button.closest('tr');
  if (row.nextElementSibling && row.nextElementSibling.classList.contains('edit')) return;
  const box = h('fieldset', {}, h('legend', {}, 'Courtrooms of ' + u.username), roomChecks('ec-room', u.courtrooms || []));
  const close = () => { editRow.remove(); button.focus(); };
  const save = () => patch(u, { courtrooms: [...box.querySelectorAll('input:checked')].map((i) => i.value) },
    'Courtrooms of ' + u.username + ' changed; their sessions were ended.');
  const editRow = h('tr', { class: 'edit' }, h('td', { colspan: '5' }, box, h('div', { class: 'row' },
    rooms.length ? h('button', { type: 'button', onclick: save }, 'Save courtrooms') : null,
    h('button', { type: 'button', class: 'secondary', onclick: close }, 'Cancel'))));
  row.after(editRow);
  (box.querySelector('input') || editRow.querySelector('button')).focus();
}

function accountRow(u) {
  const self = u.id === myId;
  const label = (what) => h('span', { class: 'visually-hidden' }, ' ' + what + ' ' + u.username);
  const state = [u.disabled ? 'disabled' : 'active'];
  if (u.must_change_password) state.push('must choose a password');
  state.push(u.totp_enabled ? 'second factor on' : 'no second factor');
  return h('tr', { dataset: { user: u.id, username: u.username } },
    h('td', {}, u.username, self ? ' (you)' : ''),
    h('td', {}, STAFF_LABELS[u.role] || u.role),
    h('td', {}, u.role === 'admin' ? 'all (administrator)' : (u.courtrooms || []).map(roomName).join(', ') || 'none',
      u.role === 'admin' ? null : h('div', {}, h('button', { type: 'button', class: 'secondary small', dataset: { rooms: u.id },
        onclick: (e) => editRooms(u, e.currentTarget) }, 'Courtrooms', label('of')))),
    h('td', {}, state.join('; ')),
    h('td', {}, h('div', { class: 'row' },
      self ? null : h('button', { type: 'button', class: 'secondary small', dataset: { toggle: u.id },
        onclick: () => patch(u, { disabled: !u.disabled }, u.username + (u.disabled ? ' enabled.' : ' disabled and signed out.')) },
        u.disabled ? 'Enable' : 'Disable', label('')),
      h('button', { type: 'button', class: 'secondary small', dataset: { reset: u.id }, onclick: () => resetPassword(u) },
        'Reset password', label('of')),
      h('button', { type: 'button', class: 'secondary small', dataset: { revoke: u.id }, onclick: () => revoke(u) },
        'Sign out everywhere', label('')),
      u.totp_enabled ? h('button', { type: 'button', class: 'secondary small', dataset: { totpReset: u.id }, onclick: () => totpReset(u) },
        'Remove second factor', label('of')) : null)));
}

// The accounts screen. keep: leave the message and the one-time password shown.
export async function showAccounts(keep) {
  const [users, crs] = await Promise.all([listAll('/users'), listAll('/courtrooms')]);
  rooms = crs;
  myId = (users.find((u) => u.username === sessionStorage.getItem('vej.s.user')) || {}).id || null;
  if (!keep) {
    notice('#acct-msg', '');
    hideSecret();
  }
  fill('#acct-list', users.map(accountRow));
  fill('#af-rooms', roomChecks('af-room', []));
  setText('#acct-count', String(users.length));
  if (!keep) screen('s-accounts');
}

async function onCreate(ev) {
  ev.preventDefault();
  const username = $('#af-user').value.trim();
  hideSecret();
  const body = { username, role: $('#af-role').value,
                 courtrooms: [...document.querySelectorAll('#af-rooms input:checked')].map((i) => i.value) };
  try {
    const r = await api('POST', '/users', body);
    $('#af-user').value = '';
    await showAccounts(true);
    notice('#acct-msg', (STAFF_LABELS[r.role] || r.role) + ' account ' + r.username + ' created ' + fmtTime(r.created_at) + '.', 'ok');
    showSecret(r.username, r.password, 'The first password of ' + r.username + '.');
  } catch (e) {
    notice('#acct-msg', errText(e));
  }
}

export function initAdmin() {
  fill('#af-role', Object.entries(STAFF_LABELS).map(([r, label]) => h('option', { value: r, text: label })));
  $('#af-role').value = 'clerk';
  $('#acct-form').addEventListener('submit', onCreate);
}
