// run_e2e.mjs - the web client end to end in Debian's headless Chromium,
// driven by playwright-core (no browser download), against a running
// gateway (test_e2e.py starts it and writes CONFIG).
//
//   node run_e2e.mjs CONFIG.json
//
// CONFIG: {chromium, base, certPem, adminPassword, adminNewPassword,
//          clerkUser, clerkPassword, shots, work, hardTimeoutMs}
//
// The scenario, each participant in a browser context of its own, fake
// camera and microphone at 320x240:
//   1. first run: admin signs in with the initial password and is made to
//      choose a new one; the admin page says how to create a clerk;
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
//   8. a browser without WebRTC gets the "cannot join" message.
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
  await visible(admin, '#accounts');
  await screen(admin, '03-admin-home');
  await admin.click('#btn-logout');
  await visible(admin, '#login-form');
  await admin.context().close();
  pages.splice(pages.indexOf(admin), 1);

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
  await clerk.keyboard.type(cfg.clerkPassword);
  await clerk.keyboard.press('Enter');
  await visible(clerk, '#courtroom-form');
  await clerk.fill('#cr-name', 'Court 1');
  await clerk.click('#courtroom-form button[type=submit]');
  await visible(clerk, '#hearing-form');
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
  // Staff act only in the courtrooms they are assigned to (deny by default):
  // the admin assigns the judge to the courtroom the clerk made.
  const assigned = await judge.evaluate(async ([adminPass, judgeUser]) => {
    const call = async (method, path, body, token) => {
      const r = await fetch('/api/v1' + path, {
        method, headers: Object.assign({ 'content-type': 'application/json' },
          token ? { authorization: 'Bearer ' + token } : {}),
        body: body ? JSON.stringify(body) : undefined,
      });
      return [r.status, await r.json().catch(() => null)];
    };
    const [, login] = await call('POST', '/login', { username: 'admin', password: adminPass });
    const [, rooms] = await call('GET', '/courtrooms', null, login.token);
    const [, users] = await call('GET', '/users', null, login.token);
    const room = rooms.items.find((c) => c.name === 'Court 1');
    const user = users.items.find((u) => u.username === judgeUser);
    const [status] = await call('PATCH', '/users/' + user.id, { courtrooms: [room.id] }, login.token);
    await call('POST', '/logout', null, login.token);
    return status;
  }, [cfg.adminNewPassword, cfg.judgeUser]);
  if (assigned !== 200) problem('the admin could not assign the judge to the courtroom: ' + assigned);
  await judge.fill('#login-user', cfg.judgeUser);
  await judge.fill('#login-pass', cfg.judgePassword);
  await judge.click('#login-form button[type=submit]');
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
