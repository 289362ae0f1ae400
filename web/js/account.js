// account.js - the signed-in account's own screen (#/account): setting up a
// second factor (docs/api.md "Second factor (TOTP)"): a new secret from the
// server shown as a QR code made in the page (qr.js) and as text, the
// authenticator's code to confirm it, then the recovery codes, once.
//
// Invariants: the secret, the otpauth URI and the recovery codes live only
// in this screen's DOM until the user leaves it (never stored, never sent
// anywhere but back to the gateway); nothing is drawn from another host.

import { api } from './api.js';
import { qrSvg } from './qr.js';
import { $, announce, fill, h, notice, screen, setText } from './ui.js';

function errText(e) { return (e && e.message) || String(e); }

function reset() {
  fill('#tf-qr');
  setText('#tf-secret', '');
  $('#tf-setup').hidden = true;
  $('#tf-codes').hidden = true;
  fill('#tf-codes-list');
  $('#tf-code').value = '';
}

// enabled: whether the account has a second factor already (from the sign-in
// or the admin list); null when not known.
export function showAccount(enabled, why) {
  reset();
  notice('#tf-msg', why || '', 'warn');
  setText('#tf-state', enabled ? 'This account has a second factor.' :
    'This account has no second factor: signing in needs the password alone.');
  $('#tf-start').hidden = !!enabled;
  screen('s-account');
}

async function onStart() {
  notice('#tf-msg', '');
  try {
    const r = await api('POST', '/account/totp');
    fill('#tf-qr', qrSvg(document, r.otpauth_uri, { scale: 5, label: 'QR code for your authenticator app' }));
    setText('#tf-secret', r.secret.replace(/(.{4})/g, '$1 ').trim());
    $('#tf-setup').hidden = false;
    $('#tf-start').hidden = true;
    $('#tf-code').focus();
  } catch (e) {
    notice('#tf-msg', errText(e));
  }
}

async function onConfirm(ev) {
  ev.preventDefault();
  notice('#tf-msg', '');
  try {
    const r = await api('POST', '/account/totp/confirm', { code: $('#tf-code').value.replace(/\s/g, '') });
    fill('#tf-qr');
    setText('#tf-secret', '');
    $('#tf-setup').hidden = true;
    fill('#tf-codes-list', r.recovery_codes.map((c) => h('li', {}, h('code', {}, c))));
    $('#tf-codes').hidden = false;
    setText('#tf-state', 'This account has a second factor.');
    sessionStorage.removeItem('vej.s.totp_required');
    notice('#tf-msg', 'Second factor set up: from now on signing in asks for the code of your app.', 'ok');
    announce('Second factor set up.');
  } catch (e) {
    notice('#tf-msg', e.status === 401 ? 'That code is not right: type the 6 digits your app shows now.' : errText(e));
  }
}

export function initAccount() {
  $('#tf-start').addEventListener('click', onStart);
  $('#tf-form').addEventListener('submit', onConfirm);
}
