// run_e2e.mjs - the web client end to end in Debian's headless Chromium,
// driven by playwright-core (no browser download), against a running
// gateway (test_e2e.py starts it and writes CONFIG).
//
//   node run_e2e.mjs CONFIG.json
//
// CONFIG: {chromium, chromiumInNs, cut, seal, base, certPem, adminPassword,
//          adminNewPassword, clerkUser, clerkPassword, judgeUser, judgePassword,
//          evidUser, evidPassword, shots, work, hardTimeoutMs}
//
// The scenario, each participant in a browser context of its own, fake
// camera and microphone at 320x240:
//   1. first run: admin signs in with the initial password and is made to
//      choose a new one, and creates the clerk on the accounts screen (its
//      one-time password shown once); the clerk's first sign-in makes it
//      choose its own;
//   2a. (once the courtroom exists) the admin creates the judge (assigned
//      to it) and the evidential user (assigned afterwards), disables and
//      enables it, resets its password, signs the judge out everywhere;
//   2. the clerk signs in, adds a courtroom, schedules a hearing, adds a
//      defendant, a defence advocate and a witness screened from the
//      defendant, reads their joining links, opens the live hearing and
//      puts it in session;
//   3. the three open their links: the token leaves the address bar and is
//      kept in sessionStorage only; each passes the self-test and waits in
//      the lobby; the clerk admits them from the lobby queue;
//   4. media flow both ways (getStats: frames decoded and audio received
//      from every other publisher, bytes sent); the defendant hears the
//      witness but has no video of them and sees them by role only;
//   5. the clerk moves defendant and advocate to a consultation room: both
//      pages show the private banner (and the witness loses them), then
//      back: both show the recorded banner;
//   5b. the defendant's browser (in a network namespace) loses its network
//      for 5 s (nftables): the page shows it, and media come back both ways
//      in the same place;
//   5c. the witness's WebSocket drops: session.resume, same place;
//   5d. the clerk mutes and unmutes the witness: shown at once;
//   6. the advocate's tab reloads and is back in the main room without the
//      self-test (sessionStorage), publishing again;
//   7. the clerk removes the witness, then closes the hearing: every page
//      says so and forgets its tokens;
//   8. a browser without WebRTC gets the "cannot join" message;
//   9. the evidential user (made by the admin in step 2a) signs in, sets
//      up a second factor from the QR code the page draws (decoded with
//      jsQR, code computed here), signs in again with a recovery code, finds
//      the hearing's recording by case reference, courtroom and day, opens
//      its page (signature valid, participants, timeline with the joins,
//      the consultation and the states), plays the composed file through
//      the files route by Range requests (the <video> has data and plays),
//      verifies it on the server (every file OK) and downloads the bundle.
//      The daemon archives and seals it at hearing close; CONFIG.seal
//      (wait_recording.py) waits for the signed manifest.
// Every screen is saved as a screenshot in CONFIG.shots and checked with
// axe-core (injected through playwright's evaluation, which the CSP does
// not govern): any serious or critical violation fails the run, as does any
// Content-Security-Policy violation reported on any page.
// Exit 0 pass, 1 fail.
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

const require = createRequire(import.meta.url);
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf-8'));
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf-8');
const jsQR = require('jsqr');
const t0 = Date.now();
const problems = [];
const cspReports = [];
const axeReports = [];

function say(msg) {
  console.log(`[e2e +${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
}

function problem(msg) {
  problems.push(msg);
  say('PROBLEM: ' + msg);
}

function spkiHash(pemPath) {
  const cert = new crypto.X509Certificate(fs.readFileSync(pemPath));
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

// Runs in every page before its own scripts: CSP violations are recorded,
// PeerConnections kept for getStats, the fake camera asked for 320x240.
function initScript() {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber);
  });
  if (window.RTCPeerConnection) {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = function (...args) {
      const pc = new Orig(...args);
      window.__pcs.push(pc);
      return pc;
    };
    window.RTCPeerConnection.prototype = Orig.prototype;
  }
  if (window.WebSocket) {
    const OrigWs = window.WebSocket;
    window.__ws = [];
    window.WebSocket = function (...args) {
      const ws = new OrigWs(...args);
      window.__ws.push(ws);
      return ws;
    };
    window.WebSocket.prototype = OrigWs.prototype;
    Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  }
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (c) => {
      if (c && c.video) c = Object.assign({}, c, { video: Object.assign({}, c.video === true ? {} : c.video,
        { width: { exact: 320 }, height: { exact: 240 } }) });
      return gum(c);
    };
  }
}

async function newPage(browser, name) {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 }, ignoreHTTPSErrors: false });
  await context.addInitScript(initScript);
  const page = await context.newPage();
  page.vejName = name;
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) cspReports.push(`${name}: ${text}`);
    if (m.type() === 'error') say(`${name} console error: ${text}`);
  });
  const log = fs.createWriteStream(path.join(cfg.work, name + '.console.log'));
  page.on('console', (m) => log.write(`${((Date.now() - t0) / 1000).toFixed(1)} ${m.type()}: ${m.text()}\n`));
  page.on('pageerror', (e) => problem(`${name}: page error: ${e.message}`));
  page.on('dialog', (d) => d.accept());
  return page;
}

async function checkCsp(page) {
  try {
    const v = await page.evaluate(() => window.__csp || []);
    for (const x of v) cspReports.push(`${page.vejName}: ${x}`);
    await page.evaluate(() => { window.__csp = []; });
  } catch (e) { /* page navigating */ }
}

// Screenshot + axe for one screen.
async function screen(page, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(cfg.shots, name + '.png'), fullPage: true });
  const has = await page.evaluate(() => typeof window.axe === 'object');
  if (!has) await page.evaluate(AXE);
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = res.violations.filter((v) => !bad.includes(v));
  axeReports.push({ screen: name, serious: bad.map((v) => v.id), other: minor.map((v) => v.id) });
  for (const v of bad)
    problem(`axe on ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
  await checkCsp(page);
  say(`screen ${name}: saved; axe ${bad.length} serious/critical, ${minor.length} other`);
}

async function visible(page, sel, timeout = 15000) {
  await page.locator(sel).first().waitFor({ state: 'visible', timeout });
}

// ---- media checks (in the page) ----

// For each tile / audio element: the participant, and what getStats says
// of the track it plays.
async function mediaReport(page) {
  return page.evaluate(async () => {
    const stats = [];
    for (const pc of window.__pcs || []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s) => stats.push(s));
    }
    const inbound = (id) => stats.find((s) => s.type === 'inbound-rtp' && s.trackIdentifier === id) || null;
    const tiles = [...document.querySelectorAll('#tiles .tile:not(.self), #live-tiles .tile:not(.self)')].map((t) => {
      const v = t.querySelector('video');
      const track = v && v.srcObject && v.srcObject.getVideoTracks()[0];
      const s = track ? inbound(track.id) : null;
      return { participant: t.dataset.participant, role: t.dataset.role, video: t.dataset.video, paused: !!(v && v.paused),
               label: t.querySelector('.label').textContent, framesDecoded: s ? s.framesDecoded || 0 : 0 };
    });
    const audio = [...document.querySelectorAll('#audio-out audio')].map((a) => {
      const track = a.srcObject && a.srcObject.getAudioTracks()[0];
      const s = track ? inbound(track.id) : null;
      return { participant: a.dataset.participant, packetsReceived: s ? s.packetsReceived || 0 : 0 };
    });
    const videoIn = stats.filter((s) => s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded || 0) > 0)
      .map((s) => s.trackIdentifier);
    const sent = {};
    for (const s of stats) if (s.type === 'outbound-rtp') sent[s.kind] = (sent[s.kind] || 0) + (s.bytesSent || 0);
    return { tiles, audio, videoIn, sent };
  });
}

async function waitMedia(page, want, timeoutMs = 30000) {
  const end = Date.now() + timeoutMs;
  let r = null;
  while (Date.now() < end) {
    r = await mediaReport(page);
    if (want(r)) return r;
    await page.waitForTimeout(500);
  }
  return r;
}

function chromiumArgs() {
  return ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
           '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
           '--disable-dev-shm-usage', '--ignore-certificate-errors-spki-list=' + spkiHash(cfg.certPem)];
}

async function main() {
  fs.mkdirSync(cfg.shots, { recursive: true });
  const launch = (exe) => chromium.launch({ executablePath: exe, headless: true, timeout: 30000, args: chromiumArgs() });
  const browser = await launch(cfg.chromium);
  // the defendant's browser runs in a network namespace whose traffic cut.sh drops
  const browserNs = await launch(cfg.chromiumInNs);
  say(`Chromium ${browser.version()}`);
  const pages = [];
  try {
    await scenario(browser, browserNs, pages);
  } finally {
    for (const p of pages) await checkCsp(p);
    await browser.close().catch(() => {});
    await browserNs.close().catch(() => {});
  }
}

async function scenario(browser, browserNs, pages) {
  const base = cfg.base;
  // ---- 1. first run: the admin ----
  const admin = await newPage(browser, 'admin');
  pages.push(admin);
  const resp = await admin.goto(base + '/');
  const csp = resp.headers()['content-security-policy'] || '';
  if (!/script-src 'self'/.test(csp) || /unsafe-inline/.test(csp)) problem('GET / has no strict CSP: ' + csp);
  await visible(admin, '#login-form');
  await screen(admin, '01-login');
  await admin.fill('#login-user', 'admin');
  await admin.fill('#login-pass', cfg.adminPassword);
  await admin.click('#login-form button[type=submit]');
  await visible(admin, '#password-form');
  await screen(admin, '02-first-password-change');
  await admin.fill('#pw-new', cfg.adminNewPassword);
  await admin.fill('#pw-confirm', cfg.adminNewPassword);
  await admin.click('#password-form button[type=submit]');
  await visible(admin, '#s-home');
  await visible(admin, '#admin-hint');
  await screen(admin, '03-admin-home');
  // the admin creates the clerk from the page (no vejctl): its one-time password is shown once
  await admin.click('#nav-accounts');
  await visible(admin, '#acct-form');
  const clerkOnce = await createAccount(admin, cfg.clerkUser, 'clerk', []);
  await screen(admin, '03b-admin-account-created');

  // ---- 2. the clerk prepares the hearing ----
  const clerk = await newPage(browser, 'clerk');
  pages.push(clerk);
  await clerk.goto(base + '/');
  // keyboard only: the skip link first, then the form, a visible focus ring on each
  await visible(clerk, '#login-form');
  const focusInfo = () => clerk.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return { id: el.id, cls: el.className, ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
  });
  // the screen's heading has the focus (screen changes move it there): Tab goes on to the form
  await clerk.keyboard.press('Tab');
  let f = await focusInfo();
  if (f.id !== 'login-user' || !f.ring) problem('keyboard: Tab from the heading does not reach the username: ' + JSON.stringify(f));
  await clerk.keyboard.press('Shift+Tab');
  f = await focusInfo();
  if (f.cls !== 'skip' || !f.ring) problem('keyboard: no visible skip link before the form: ' + JSON.stringify(f));
  await clerk.focus('#login-user');
  await clerk.keyboard.type(cfg.clerkUser);
  await clerk.keyboard.press('Tab');
  f = await focusInfo();
  if (f.id !== 'login-pass' || !f.ring) problem('keyboard: Tab from the username does not show focus on the password: ' + JSON.stringify(f));
  await clerk.keyboard.type(clerkOnce);
  await clerk.keyboard.press('Enter');
  await changePassword(clerk, cfg.clerkPassword);
  await visible(clerk, '#courtroom-form');
  await clerk.fill('#cr-name', 'Court 1');
  await clerk.click('#courtroom-form button[type=submit]');
  await visible(clerk, '#hearing-form');
  const hearingRoomUrl = clerk.url();

  // ---- 2a. the admin makes the judge (assigned to Court 1 when created) and
  // the evidential user (assigned afterwards), and tries every account action ----
  await admin.reload();
  await visible(admin, '#af-rooms input[type=checkbox]');
  const judgeOnce = await createAccount(admin, cfg.judgeUser, 'judge', ['Court 1']);
  await createAccount(admin, cfg.evidUser, 'evidential', []);
  const evidRow = () => admin.locator(`#acct-list tr[data-username="${cfg.evidUser}"]`);
  if (!/none/.test(await evidRow().locator('td').nth(2).textContent())) problem('a new account without courtrooms shows some');
  await evidRow().locator('button[data-rooms]').click();
  await admin.locator('tr.edit label', { hasText: 'Court 1' }).locator('input').check();
  await screen(admin, '03c-admin-courtrooms');
  await admin.locator('tr.edit button', { hasText: 'Save courtrooms' }).click();
  await admin.waitForFunction((u) => /Court 1/.test(document.querySelector(`#acct-list tr[data-username="${u}"] td:nth-child(3)`).textContent),
    cfg.evidUser, { timeout: 10000 }).catch(() => problem('admin: the courtroom assignment is not shown'));
  await evidRow().locator('button[data-toggle]').click();
  await admin.waitForFunction((u) => /disabled/.test(document.querySelector(`#acct-list tr[data-username="${u}"] td:nth-child(4)`).textContent),
    cfg.evidUser, { timeout: 10000 }).catch(() => problem('admin: disabling is not shown'));
  const api = async (page, method, path, body) => page.evaluate(async ([m, p, b]) => {
    const r = await fetch('/api/v1' + p, { method: m, headers: { 'Content-Type': 'application/json' }, body: b && JSON.stringify(b) });
    return r.status;
  }, [method, path, body]);
  if (await api(admin, 'POST', '/login', { username: cfg.evidUser, password: 'x' }) !== 401) problem('login of a disabled account not 401');
  await evidRow().locator('button[data-toggle]').click();
  await admin.waitForFunction((u) => /active/.test(document.querySelector(`#acct-list tr[data-username="${u}"] td:nth-child(4)`).textContent),
    cfg.evidUser, { timeout: 10000 }).catch(() => problem('admin: enabling is not shown'));
  await admin.click('#acct-secret button');
  if (await admin.locator('#acct-secret-value').count()) problem('admin: the one-time password stays after "I have noted it"');
  await evidRow().locator('button[data-reset]').click();
  await admin.locator('#acct-secret h2', { hasText: 'evid' }).waitFor({ timeout: 10000 });
  await admin.locator('#acct-secret', { hasText: 'new password' }).waitFor({ timeout: 10000 });
  await admin.locator(`#acct-list tr[data-username="${cfg.judgeUser}"] button[data-revoke]`).click();
  await admin.waitForFunction(() => /signed out everywhere/.test(document.querySelector('#acct-msg').textContent), null, { timeout: 10000 })
    .catch(() => problem('admin: revoking sessions is not confirmed'));
  const evidOnce = (await admin.locator('#acct-secret-value').textContent()).trim();
  if (evidOnce.length < 12) problem('admin: the reset password is not shown: ' + evidOnce);
  await screen(admin, '03d-admin-accounts');
  say('accounts made from the admin page; courtrooms, disable, enable, reset, revoke');
  await clerk.bringToFront();
  if (clerk.url() !== hearingRoomUrl) problem('clerk left the courtroom page: ' + clerk.url());
  await clerk.fill('#hf-case', 'T2026/E2E1');
  await clerk.fill('#hf-title', 'R v Defendant');
  await clerk.click('#hearing-form button[type=submit]');
  await visible(clerk, '#participant-form');
  const people = [
    { key: 'defendant', name: 'Dan Defendant', role: 'defendant', screened: [] },
    { key: 'advocate', name: 'Ada Advocate', role: 'defence', screened: [] },
    { key: 'witness', name: 'Wendy Witness', role: 'witness', screened: ['defendant'] },
  ];
  for (const p of people) {
    await clerk.fill('#pf-name', p.name);
    await clerk.selectOption('#pf-role', p.role);
    for (const r of p.screened) await clerk.check(`#pf-screened input[value=${r}]`);
    await clerk.click('#participant-form button[type=submit]');
    await clerk.locator('#participants tr', { hasText: p.name }).locator('input[data-link]').waitFor();
    p.url = await clerk.locator('#participants tr', { hasText: p.name }).locator('input[data-link]').inputValue();
    p.id = await clerk.locator('#participants tr', { hasText: p.name }).getAttribute('data-participant');
  }
  const wrow = await clerk.locator('#participants tr', { hasText: 'Wendy Witness' }).textContent();
  if (!/screened from defendant/i.test(wrow)) problem('witness row does not show the screening: ' + wrow);
  // a fourth participant whose special measures are changed afterwards (PATCH)
  await clerk.fill('#pf-name', 'Pat Probation');
  await clerk.selectOption('#pf-role', 'probation');
  await clerk.click('#participant-form button[type=submit]');
  const patRow = () => clerk.locator('#participants tr', { hasText: 'Pat Probation' });
  await patRow().locator('button[data-edit]').click();
  await clerk.locator('tr.edit input[name=em-audio-only]').check();
  await clerk.locator('tr.edit input[name=em-screened][value=defendant]').check();
  await screen(clerk, '04b-clerk-edit-special-measures');
  await clerk.locator('tr.edit button', { hasText: 'Save' }).click();
  await clerk.waitForFunction(() => [...document.querySelectorAll('#participants tr')]
    .some((r) => /Pat Probation/.test(r.textContent) && /screened from defendant; sound only/.test(r.textContent)), null, { timeout: 10000 })
    .catch(() => problem('special measures change not shown: ' + 'Pat Probation'));
  await screen(clerk, '04-clerk-hearing-participants');
  await clerk.click('#btn-live');
  await visible(clerk, '#live-state-buttons button[data-state=open]');
  await clerk.click('#live-state-buttons button[data-state=open]');
  await visible(clerk, '#live-state-buttons button[data-state=in_session]');
  await clerk.click('#live-state-buttons button[data-state=in_session]');
  await visible(clerk, '#live-state-buttons button[data-state=adjourned]');
  say('hearing in session; links read from the console');

  // ---- 3. the participants join ----
  for (const p of people) {
    p.page = await newPage(p.key === 'defendant' ? browserNs : browser, p.key);
    pages.push(p.page);
    // the witness's endpoint runs in kiosk mode (a fixed custody-suite-like screen)
    await p.page.goto(p.key === 'witness' ? p.url + '&kiosk=1' : p.url);
    await visible(p.page, '#s-selftest');
    const url = p.page.url();
    if (/#|t=/.test(url)) problem(`${p.key}: the token is still in the address bar: ${url}`);
    const stored = await p.page.evaluate(() => ({ join: !!sessionStorage.getItem('vej.p.join'), local: localStorage.length }));
    if (!stored.join || stored.local) problem(`${p.key}: token not in sessionStorage only: ${JSON.stringify(stored)}`);
    await p.page.locator('#st-continue:enabled').waitFor({ timeout: 15000 });
    const checks = await p.page.locator('#st-checks li.ok').count();
    if (checks < 3) problem(`${p.key}: self-test checks passed: ${checks} (${await p.page.locator('#st-checks').textContent()})`);
    if (p.key === 'defendant') {
      await p.page.waitForFunction(() => Number(document.querySelector('#st-level').value) > 0, null, { timeout: 5000 })
        .catch(() => problem('defendant: the microphone meter never moved'));
      await p.page.click('#st-tone');
      await screen(p.page, '05-participant-selftest');
    }
    if (p.key === 'witness') {
      // kiosk: no navigation, and the self-test passes on by itself
      if (!(await p.page.evaluate(() => document.body.classList.contains('kiosk')))) problem('kiosk link: no kiosk mode');
    } else {
      await p.page.click('#st-continue');
    }
    await visible(p.page, '#s-lobby');
  }
  await screen(people[0].page, '06-participant-lobby');
  await clerk.locator('#lobby li[data-participant]').nth(2).waitFor({ timeout: 15000 });
  await screen(clerk, '07-clerk-lobby-queue');
  for (const p of people) await clerk.click(`#lobby button[data-admit="${p.id}"]`);
  for (const p of people) await visible(p.page, '#banner-recorded');
  say('all three admitted; recorded banner shown');

  // ---- 4. media ----
  const [def, adv, wit] = people;
  const okAll = (r, n) => r.tiles.filter((t) => t.framesDecoded > 10).length >= n &&
    r.audio.filter((a) => a.packetsReceived > 10).length >= n && r.sent.video > 0 && r.sent.audio > 0;
  const rAdv = await waitMedia(adv.page, (r) => okAll(r, 2));
  const rWit = await waitMedia(wit.page, (r) => okAll(r, 2));
  const rDef = await waitMedia(def.page, (r) => r.tiles.some((t) => t.framesDecoded > 10) &&
    r.audio.filter((a) => a.packetsReceived > 10).length >= 2 && r.sent.video > 0);
  for (const [who, r, n] of [['advocate', rAdv, 2], ['witness', rWit, 2]])
    if (!okAll(r, n)) problem(`${who}: media not flowing both ways: ${JSON.stringify(r)}`);
  for (const [who, r] of [['defendant', rDef], ['advocate', rAdv], ['witness', rWit]])
    for (const t of r.tiles) if (t.video === 'yes' && t.paused) problem(`${who}: the video of ${t.label} is paused`);
  const witTile = rDef.tiles.find((t) => t.role === 'witness');
  if (!witTile) problem('defendant: no tile for the witness: ' + JSON.stringify(rDef.tiles));
  else {
    if (witTile.video !== 'no' || witTile.framesDecoded) problem('defendant sees the witness on video: ' + JSON.stringify(witTile));
    if (!witTile.participant.startsWith('anon_') || /Wendy/.test(witTile.label))
      problem('defendant sees the witness named: ' + JSON.stringify(witTile));
    const heard = rDef.audio.find((a) => a.participant === witTile.participant);
    if (!heard || heard.packetsReceived <= 10) problem('defendant does not hear the witness: ' + JSON.stringify(rDef.audio));
  }
  if (rDef.videoIn.length !== 1) problem(`defendant decodes ${rDef.videoIn.length} video streams (only the advocate's expected)`);
  if (!rDef.tiles.some((t) => t.role === 'defence' && t.framesDecoded > 10)) problem('defendant does not see the advocate: ' + JSON.stringify(rDef.tiles));
  say(`media: defendant ${JSON.stringify(rDef.tiles.map((t) => [t.role, t.framesDecoded]))}; witness heard by the defendant, not seen`);
  // active speaker: the fake microphones beep, so someone's tile lights up
  await def.page.waitForFunction(() => document.querySelector('#tiles .tile.speaking'), null, { timeout: 10000 })
    .catch(() => problem('defendant: no active-speaker highlight'));
  await screen(def.page, '08-defendant-hearing');
  await screen(wit.page, '09-witness-hearing');
  await wit.page.setViewportSize({ width: 360, height: 740 });
  await screen(wit.page, '09b-witness-hearing-phone');
  const wide = await wit.page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 360) problem(`phone-sized hearing page scrolls sideways (${wide} px wide)`);
  await wit.page.setViewportSize({ width: 1000, height: 760 });
  await screen(clerk, '10-clerk-live');
  if (await wit.page.locator('#btn-leave').isVisible()) problem('kiosk: the leave button is shown');

  // the judge's bench view: state buttons, no moves, everyone on video, the judge on camera
  const judge = await newPage(browser, 'judge');
  pages.push(judge);
  await judge.goto(base + '/');
  // the judge was assigned to Court 1 when the admin created the account (step 2a)
  await judge.fill('#login-user', cfg.judgeUser);
  await judge.fill('#login-pass', judgeOnce);
  await judge.click('#login-form button[type=submit]');
  await changePassword(judge, cfg.judgePassword);
  await judge.click('#courtrooms a');
  await judge.click('#hearings a.button');
  await visible(judge, '#live-state-buttons button[data-state=adjourned]');
  await judge.click('#btn-av');
  const rJudge = await waitMedia(judge, (r) => r.tiles.filter((t) => t.framesDecoded > 5).length >= 3, 20000);
  if (rJudge.tiles.filter((t) => t.framesDecoded > 5).length < 3) problem('judge does not see all three: ' + JSON.stringify(rJudge.tiles));
  const rSeeJudge = await waitMedia(adv.page, (r) => r.tiles.some((t) => t.role === 'judge' && t.framesDecoded > 5), 15000);
  if (!rSeeJudge.tiles.some((t) => t.role === 'judge' && t.framesDecoded > 5)) problem('the advocate does not see the judge: ' + JSON.stringify(rSeeJudge.tiles));
  if (await judge.locator('select[data-move]').count()) problem('judge has move controls (clerks only)');
  await screen(judge, '10b-judge-bench');
  await judge.context().close();
  pages.splice(pages.indexOf(judge), 1);

  // request to speak privately (the defendant)
  await def.page.click('#btn-private');
  await visible(def.page, '#hearing-msg');

  // ---- 5. consultation and back ----
  for (const p of [def, adv]) {
    await clerk.selectOption(`select[data-move="${p.id}"]`, 'consultation');
    await clerk.fill(`input[data-room="${p.id}"]`, 'defence');
    await clerk.click(`button[data-move-go="${p.id}"]`);
  }
  for (const p of [def, adv]) {
    await visible(p.page, '#banner-private');
    if (await p.page.locator('#banner-recorded').count()) problem(`${p.key}: recorded banner in a consultation`);
  }
  await waitMedia(def.page, (r) => r.tiles.length === 1 && r.tiles[0].role === 'defence' && r.tiles[0].framesDecoded > 0, 10000);
  const rCons = await mediaReport(def.page);
  if (rCons.tiles.length !== 1 || rCons.tiles[0].role !== 'defence') problem('defendant in consultation sees: ' + JSON.stringify(rCons.tiles));
  await wit.page.waitForFunction(() => !document.querySelector('#tiles .tile[data-role=defendant], #tiles .tile[data-role=defence]'),
    null, { timeout: 10000 }).catch(() => problem('the witness still shows people who went into the consultation'));
  await screen(def.page, '11-defendant-consultation');
  for (const p of [def, adv]) {
    await clerk.selectOption(`select[data-move="${p.id}"]`, 'main');
    await clerk.click(`button[data-move-go="${p.id}"]`);
  }
  for (const p of [def, adv]) {
    await visible(p.page, '#banner-recorded');
    if (await p.page.locator('#banner-private').count()) problem(`${p.key}: private banner back in main`);
  }
  say('consultation and back: banners right');

  // ---- 5b. the defendant's network is cut for 5 s ----
  const framesOf = async (page, role) => ((await mediaReport(page)).tiles.find((t) => t.role === role) || {}).framesDecoded || 0;
  const seen = new Set();
  execFileSync(cfg.cut, ['on']);
  const tCut = Date.now();
  say('defendant network cut');
  try {
    while (Date.now() - tCut < 5000) {
      seen.add(await def.page.locator('#quality').getAttribute('data-level'));
      await def.page.waitForTimeout(250);
    }
  } finally {
    execFileSync(cfg.cut, ['off']);
  }
  say(`defendant network back after ${Date.now() - tCut} ms; quality shown during the cut: ${[...seen].join(', ')}`);
  if (!seen.has('offline') && !seen.has('poor')) problem('defendant: the cut was never shown (quality ' + [...seen].join(', ') + ')');
  const a0 = await framesOf(adv.page, 'defendant'), d0 = await framesOf(def.page, 'defence');
  const tBack = Date.now();
  let back = false;
  while (Date.now() - tBack < 25000) {
    const a1 = await framesOf(adv.page, 'defendant'), d1 = await framesOf(def.page, 'defence');
    if (a1 - a0 > 15 && d1 - d0 > 15) { back = true; break; }
    await def.page.waitForTimeout(500);
  }
  if (!back) problem('defendant: media did not come back both ways within 25 s of the network returning');
  else say(`defendant media back both ways ${Date.now() - tBack} ms after the network returned`);
  if (!(await def.page.locator('#banner-recorded').isVisible()) || !(await def.page.locator('#s-hearing').isVisible()))
    problem('defendant is not back in the main courtroom after the cut');
  const defPlace = await clerk.locator(`#roster tr[data-participant="${def.id}"]`).getAttribute('data-place');
  if (defPlace !== 'main') problem('the clerk sees the defendant in ' + defPlace + ' after the cut');

  // ---- 5c. the witness's WebSocket drops: resumed, same place, nobody told ----
  await wit.page.evaluate(() => { for (const w of window.__ws) w.close(); });
  await wit.page.waitForFunction(() => document.querySelector('#conn-state').textContent === 'Connected' &&
    window.__ws.filter((w) => w.readyState === 1).length === 1, null, { timeout: 15000 })
    .catch(() => problem('witness: the signalling did not come back after the socket dropped'));
  if (!(await wit.page.locator('#banner-recorded').isVisible())) problem('witness: not back in the main room after the socket dropped');
  const resumed = await wit.page.evaluate(() => !!sessionStorage.getItem('vej.p.resume'));
  if (!resumed) problem('witness: no resume token after reconnecting');
  if (!(await clerk.locator(`#roster tr[data-participant="${wit.id}"]`).count())) problem('the clerk lost the witness when its socket dropped');
  say('witness socket dropped and resumed in place');

  // ---- 5d. the clerk mutes the witness's microphone, then allows it again ----
  await clerk.click(`button[data-mute="${wit.id}"][data-kind="audio"]`);
  await wit.page.waitForFunction(() => /turned your microphone off/.test(document.querySelector('#hearing-msg').textContent)
    && document.querySelector('#btn-mic').disabled, null, { timeout: 10000 })
    .catch(() => problem('witness: the mute by the court was not shown'));
  await def.page.waitForFunction(() => [...document.querySelectorAll('#tiles .tile[data-role=witness] .label')]
    .some((l) => /microphone off/.test(l.textContent)), null, { timeout: 10000 })
    .catch(() => problem('defendant: the witness\'s mute is not shown on the tile'));
  await clerk.click(`button[data-mute="${wit.id}"][data-kind="audio"]`);
  await wit.page.waitForFunction(() => !document.querySelector('#btn-mic').disabled, null, { timeout: 10000 })
    .catch(() => problem('witness: the unmute by the court was not shown'));
  say('mute and unmute shown at once');

  // ---- 6. reload keeps the tab in the hearing ----
  const advFrames = async () => ((await mediaReport(def.page)).tiles.find((t) => t.role === 'defence') || {}).framesDecoded || 0;
  await adv.page.reload();
  await visible(adv.page, '#s-hearing', 20000);
  if (!(await adv.page.locator('#s-selftest').isHidden())) problem('advocate: self-test shown again after a reload');
  if (await adv.page.locator('#banner-recorded').count() !== 1) problem('advocate: no recorded banner after the reload');
  // the advocate's new publish PC replaces the old one: the defendant may get
  // a new track for it, so frames are counted over 2 s windows until one shows it
  let f0 = 0, f1 = 0;
  for (const end = Date.now() + 15000; Date.now() < end;) {
    f0 = await advFrames();
    await def.page.waitForTimeout(2000);
    f1 = await advFrames();
    if (f1 - f0 >= 15) break;
  }
  if (f1 - f0 < 15) problem(`defendant: the advocate's video did not come back after the reload (${f0} -> ${f1} frames in 2 s)`);
  else say(`advocate reloaded: back in the main room, publishing again (${f1 - f0} frames in 2 s at the defendant)`);
  // The page that went away closed its subscribe PC (DTLS close_notify):
  // webrtc.subscribe from the reloaded page gets a new one.
  const rAfter = await waitMedia(adv.page, (r) => okAll(r, 2), 8000);
  if (!okAll(rAfter, 2)) problem('advocate after the reload receives no media (the closed subscribe PC was not replaced)');

  // ---- 7. the witness is removed; the hearing closes ----
  await clerk.click(`button[data-remove="${wit.id}"]`);
  await clerk.locator(`#roster tr[data-participant="${wit.id}"]`).waitFor({ state: 'detached', timeout: 10000 })
    .catch(() => problem('the clerk still lists the removed witness'));
  await visible(wit.page, '#s-ended');
  if (!/removed/i.test(await wit.page.locator('#ended-h').textContent())) problem('witness: removal not shown');
  await clerk.click('#live-state-buttons button[data-state=closed]');
  for (const p of [def, adv]) {
    await visible(p.page, '#s-ended');
    const txt = await p.page.locator('#ended-h').textContent();
    if (!/ended/i.test(txt)) problem(`${p.key}: end screen says ${txt}`);
    const left = await p.page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('vej.p.')));
    if (left.includes('vej.p.join') || left.includes('vej.p.resume')) problem(`${p.key}: tokens kept after the end: ${left}`);
  }
  await screen(def.page, '12-participant-ended');
  const hearingId = clerk.url().split('#/live/')[1];
  await evidentialPart(browser, pages, hearingId, evidOnce);
  // the admin sees the evidential user's second factor and removes it
  const admin2 = pages.find((p) => p.vejName === 'admin');
  await admin2.reload();
  const evRow = admin2.locator(`#acct-list tr[data-username="${cfg.evidUser}"]`);
  await evRow.locator('button[data-totp-reset]').click({ timeout: 10000 })
    .catch(() => problem('admin: no "Remove second factor" for an account that has one'));
  await admin2.waitForFunction((u) => /no second factor/.test(document.querySelector(`#acct-list tr[data-username="${u}"]`).textContent),
    cfg.evidUser, { timeout: 10000 }).catch(() => problem('admin: removing the second factor is not shown'));
  say('admin removed the evidential user\'s second factor');

  // ---- 8a. a link that no longer works: the self-test says so plainly ----
  const bad = await newPage(browser, 'bad-link');
  pages.push(bad);
  await bad.goto(base + '/join#t=' + def.url.split('#t=')[1].replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
  await bad.waitForFunction(() => [...document.querySelectorAll('#st-checks li.bad')]
    .some((li) => /no longer works/.test(li.textContent)), null, { timeout: 15000 })
    .catch(() => problem('a forged link: the self-test does not say the link no longer works'));
  if (await bad.locator('#st-continue').isEnabled()) problem('a forged link can continue to the hearing');
  await screen(bad, '12b-selftest-bad-link');
  await bad.context().close();
  pages.splice(pages.indexOf(bad), 1);

  // ---- 8. a browser without WebRTC ----
  const old = await newPage(browser, 'old-browser');
  pages.push(old);
  await old.context().addInitScript(() => { delete window.RTCPeerConnection; });
  await old.goto(base + '/join#t=x.y.z');
  await visible(old, '#unsupported');
  const msg = await old.locator('#unsupported').textContent();
  if (!/WebRTC/.test(msg)) problem('unsupported message does not say what is missing: ' + msg);
  await screen(old, '13-unsupported-browser');

  // the CSP check can fail: an inline script put in on purpose is blocked and reported
  const before = cspReports.length;
  await old.evaluate(() => { const el = document.createElement('script'); el.textContent = 'window.__ran = 1'; document.head.append(el); });
  await old.waitForTimeout(300);
  await checkCsp(old);
  const ran = await old.evaluate(() => window.__ran === 1);
  if (ran || cspReports.length === before) problem(`the CSP did not block or report an inline script (ran ${ran}, reports ${cspReports.length - before})`);
  cspReports.splice(before);
}

// RFC 6238 code of a base32 secret at time t (HMAC-SHA-1, 6 digits, 30 s).
function totp(secret, t = Date.now()) {
  const alpha = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alpha.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(t / 30000)));
  const mac = crypto.createHmac('sha1', key).update(msg).digest();
  const o = mac[19] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// The evidential user sets up a second factor from the QR code the page
// draws (decoded here with jsQR from the page's own pixels), confirms it,
// gets recovery codes, and signs in again with one of them.
async function secondFactor(ev) {
  await ev.click('#who');
  await visible(ev, '#tf-start');
  await ev.click('#tf-start');
  await visible(ev, '#tf-qr svg');
  const img = await ev.evaluate(async () => {
    const svg = document.querySelector('#tf-qr svg');
    const url = URL.createObjectURL(new Blob([new XMLSerializer().serializeToString(svg)], { type: 'image/svg+xml' }));
    const im = new Image();
    await new Promise((res, rej) => { im.onload = res; im.onerror = rej; im.src = url; });
    const c = document.createElement('canvas');
    c.width = im.width; c.height = im.height;
    const g = c.getContext('2d');
    g.drawImage(im, 0, 0);
    URL.revokeObjectURL(url);
    return { w: c.width, h: c.height, data: Array.from(g.getImageData(0, 0, c.width, c.height).data) };
  });
  const qr = jsQR(Uint8ClampedArray.from(img.data), img.w, img.h);
  const uri = qr ? qr.data : '';
  const m = /^otpauth:\/\/totp\/[^?]+\?(.*)$/.exec(uri);
  const secret = m ? new URLSearchParams(m[1]).get('secret') : null;
  if (!secret) { problem('account: the QR code does not decode to an otpauth URI: ' + uri); return; }
  const shown = (await ev.locator('#tf-secret').textContent()).replace(/\s/g, '');
  if (shown !== secret) problem(`account: the key shown (${shown}) is not the QR code's`);
  await screen(ev, '13c-account-second-factor');
  await ev.fill('#tf-code', totp(secret));
  await ev.click('#tf-form button[type=submit]');
  await visible(ev, '#tf-codes-list li');
  const codes = await ev.locator('#tf-codes-list code').allTextContents();
  if (codes.length < 5) problem('account: recovery codes not shown: ' + codes);
  await screen(ev, '13d-account-recovery-codes');
  // signing in again asks for the second factor; a recovery code does
  await ev.click('#btn-logout');
  await visible(ev, '#login-form');
  await ev.fill('#login-user', cfg.evidUser);
  await ev.fill('#login-pass', cfg.evidPassword);
  await ev.click('#login-form button[type=submit]');
  await visible(ev, '#login-code');
  await ev.fill('#login-code', codes[0]);
  await ev.click('#login-form button[type=submit]');
  await visible(ev, '#rs-form');
  say('second factor set up from the page\'s QR code; signed in again with a recovery code');
}

// Creates a staff account on the admin's accounts screen; returns its one-time password.
async function createAccount(admin, username, role, roomNames) {
  await admin.fill('#af-user', username);
  await admin.selectOption('#af-role', role);
  for (const r of roomNames) await admin.locator('#af-rooms label', { hasText: r }).locator('input').check();
  await admin.click('#acct-form button[type=submit]');
  await visible(admin, '#acct-secret-value');
  const once = (await admin.locator('#acct-secret-value').textContent()).trim();
  await admin.locator(`#acct-list tr[data-username="${username}"]`).waitFor({ timeout: 10000 });
  const row = await admin.locator(`#acct-list tr[data-username="${username}"]`).textContent();
  for (const r of roomNames) if (!row.includes(r)) problem(`admin: ${username} not shown in ${r}: ${row}`);
  if (!/must choose a password/.test(row)) problem(`admin: ${username} not shown as needing a password change: ${row}`);
  if (once.length < 12) problem(`admin: no one-time password for ${username}: "${once}"`);
  return once;
}

// The forced first password change after signing in with a one-time password.
async function changePassword(page, newPassword) {
  await visible(page, '#password-form');
  await page.fill('#pw-new', newPassword);
  await page.fill('#pw-confirm', newPassword);
  await page.click('#password-form button[type=submit]');
  await page.locator('#s-password').waitFor({ state: 'hidden', timeout: 10000 });
}

// ---- 9. the evidential portal: find, open, play and verify the hearing's recording ----
async function evidentialPart(browser, pages, hearingId, evidOnce) {
  const sealed = JSON.parse(execFileSync(cfg.seal, [hearingId], { encoding: 'utf-8', timeout: 150000 }));
  say(`recording ${sealed.recording_id} of the hearing: ${sealed.how}`);
  const ev = await newPage(browser, 'evidential');
  pages.push(ev);
  await ev.goto(cfg.base + '/');
  await ev.fill('#login-user', cfg.evidUser);
  await ev.fill('#login-pass', evidOnce);
  await ev.click('#login-form button[type=submit]');
  await changePassword(ev, cfg.evidPassword);
  await visible(ev, '#rs-form');
  await secondFactor(ev);
  await ev.fill('#rs-case', 'T2026/E2E1');
  await ev.selectOption('#rs-room', { label: 'Court 1' });
  await ev.fill('#rs-date', new Date().toLocaleDateString('en-CA'));
  await ev.click('#rs-form button[type=submit]');
  const link = ev.locator(`#rs-results tr[data-recording="${sealed.recording_id}"] a`);
  await link.waitFor({ timeout: 10000 });
  if (await ev.locator('#rs-results tr[data-recording]').count() !== 1) problem('evidential: the search finds more than the hearing');
  await screen(ev, '14-evidential-search');
  // a search that matches nothing
  await ev.fill('#rs-case', 'NO-SUCH-CASE');
  await ev.click('#rs-form button[type=submit]');
  await ev.locator('#rs-results', { hasText: 'No recording matches' }).waitFor({ timeout: 10000 })
    .catch(() => problem('evidential: a search for an unknown case shows results'));
  await ev.fill('#rs-case', 'T2026/E2E1');
  await ev.click('#rs-form button[type=submit]');
  await link.click();
  await visible(ev, '#rec-files tr[data-file="archive/hearing.webm"]');
  if (await ev.locator('#rec-signature').getAttribute('data-valid') !== 'true')
    problem('evidential: signature not shown valid: ' + await ev.locator('#rec-signature').textContent());
  const tl = await ev.locator('#rec-timeline').textContent();
  for (const want of [/Dan Defendant .*joined/, /moved to Consultation room "defence"/, /Consultation room "defence" began/, /Hearing state: in session/])
    if (!want.test(tl)) problem(`evidential: the timeline lacks ${want}: ${tl.slice(0, 600)}`);
  const people = await ev.locator('#rec-people').textContent();
  for (const n of ['Dan Defendant', 'Ada Advocate', 'Wendy Witness']) if (!people.includes(n)) problem(`evidential: ${n} not among the participants`);
  // play the composed file through the files route, by Range requests
  const ranges = [];
  ev.on('request', (r) => { if (r.url().includes('/files/archive/hearing.webm')) ranges.push(r.headers().range || 'none'); });
  await ev.click('#rec-play');
  await ev.waitForFunction(() => { const v = document.querySelector('#rec-video'); return v.readyState >= 2 && v.currentTime > 0.3; },
    null, { timeout: 20000 }).catch(() => problem('evidential: the composed file does not play'));
  const vinfo = await ev.evaluate(() => { const v = document.querySelector('#rec-video');
    return { rs: v.readyState, t: v.currentTime, w: v.videoWidth, mode: v.dataset.mode, loaded: v.dataset.loaded, err: v.error && v.error.message }; });
  if (!vinfo.w || vinfo.mode !== 'ranges' || !ranges.length || !ranges.every((r) => /^bytes=\d+-\d+$/.test(r)))
    problem('evidential: playing not by Range requests: ' + JSON.stringify({ vinfo, ranges }));
  say(`composed file playing: ${JSON.stringify(vinfo)}, ${ranges.length} range request(s)`);
  await ev.evaluate(() => document.querySelector('#rec-video').pause());
  await ev.click('#rec-verify');
  await ev.locator('#rec-msg.ok', { hasText: 'Verification passed' }).waitFor({ timeout: 30000 })
    .catch(async () => problem('evidential: verification did not pass: ' + await ev.locator('#rec-msg').textContent()));
  const checks = await ev.locator('#rec-files td.ok').count(), rows = await ev.locator('#rec-files tr').count();
  if (!checks || checks !== rows) problem(`evidential: ${checks} of ${rows} files shown OK after verifying`);
  await screen(ev, '15-evidential-recording');
  if (!/Dan Defendant/.test(await ev.locator('#rec-files').textContent())) problem('evidential: the per-participant files do not say whose they are');
  // the top of the page at a viewport's size (the README's screenshot)
  await ev.setViewportSize({ width: 1000, height: 1250 });
  await ev.evaluate(() => window.scrollTo(0, 0));
  await ev.screenshot({ path: path.join(cfg.shots, '15b-evidential-recording-top.png') });
  await ev.setViewportSize({ width: 1000, height: 760 });
  const [dl] = await Promise.all([ev.waitForEvent('download', { timeout: 30000 }), ev.click('#rec-bundle')]);
  const tarPath = path.join(cfg.work, 'bundle.tar');
  await dl.saveAs(tarPath);
  const head = fs.readFileSync(tarPath).subarray(0, 100).toString('latin1');
  if (!head.startsWith(sealed.recording_id + '/')) problem('evidential: the bundle is not the recording\'s tar: ' + head.slice(0, 40));
  say(`bundle downloaded (${fs.statSync(tarPath).size} bytes); verified; evidential part done`);
}

const hard = setTimeout(() => {
  problem(`hard timeout after ${cfg.hardTimeoutMs} ms`);
  finish(1);
}, cfg.hardTimeoutMs || 180000);

function finish(code) {
  clearTimeout(hard);
  if (cspReports.length) for (const c of cspReports) problem('CSP violation: ' + c);
  fs.writeFileSync(path.join(cfg.shots, 'axe.json'), JSON.stringify(axeReports, null, 1));
  say(problems.length ? `FAIL (${problems.length} problems)` : 'PASS');
  process.exit(problems.length ? 1 : code);
}

main().then(() => finish(0)).catch((e) => {
  problem('scenario stopped: ' + (e && e.stack || e));
  finish(1);
});
