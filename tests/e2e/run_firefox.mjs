// run_firefox.mjs - the web client end to end in Debian's Firefox ESR
// (stock /usr/bin/firefox-esr, headless), driven by puppeteer-core over
// WebDriver BiDi, against a running gateway (test_firefox.py starts it,
// makes the clerk's account, a hearing in session with a defendant and a
// defence advocate over REST, and writes CONFIG).
//
//   node run_firefox.mjs CONFIG.json
//
// CONFIG: {firefox, base, clerkUser, clerkPassword, hearingId, cut,
//          people: [{key, id, name, url}], shots, work, hardTimeoutMs}
//
// One Firefox, each page in a browser context (user context: cookies and
// storage of its own) of its own, Firefox's fake camera and microphone
// (media.navigator.streams.fake) with the permission prompt off:
//   1. the clerk signs in on the console in Firefox (Tab reaches the
//      username with a visible focus ring) and opens the live hearing;
//   2. defendant and advocate open their links: the token leaves the
//      address bar; each passes the self-test (camera, microphone, the
//      connection and network checks; the microphone meter moves; the
//      test sound plays on a speaker chosen from Firefox's outputs) and
//      waits in the lobby;
//   3. the clerk admits both from the lobby queue; both pages show the
//      recorded banner;
//   4. each page plays the other's video and sound: the tile's <video> has
//      videoWidth > 0, currentTime advances and requestVideoFrameCallback
//      fires; the other's audio track has a level (AnalyserNode on an
//      AudioContext) and its receiver's inbound-rtp bytes grow; this
//      page's outbound-rtp bytes grow;
//   5. the clerk moves the defendant to a consultation room: the private
//      banner, and the two no longer see each other; the advocate follows:
//      media between them there; both back to the courtroom: the recorded
//      banner, and media both ways again;
//   5b. every page's media are cut for 6 s (CONFIG.cut: nftables drops UDP
//      to and from the gateway): the defendant's page shows it, and media
//      come back both ways in the courtroom (ICE restart where a side
//      gave up);
//   6. the advocate's tab reloads: back in the courtroom without the
//      self-test (sessionStorage), media both ways again;
//   7. a Firefox without RTCPeerConnection gets the "cannot join" message
//      naming WebRTC; an inline script put into a page is blocked and
//      reported (the CSP check can fail).
// Each screen is saved as a screenshot in CONFIG.shots and checked with
// axe-core (injected through BiDi script evaluation, which the page's CSP
// does not govern): a serious or critical violation fails the run, as does
// any Content-Security-Policy violation a page reports, any console error
// and any uncaught page error. Exit 0 pass, 1 fail.
import puppeteer from 'puppeteer-core';
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
  console.log(`[firefox +${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);
}

function problem(msg) {
  problems.push(msg);
  say('PROBLEM: ' + msg);
}

// Preferences of the test profile: Firefox's own fake devices and no
// permission prompt. Autoplay stays at Firefox's default (the pages play
// sound and start AudioContexts without a click because they capture the
// camera and microphone), and so does ICE (mDNS host candidates included).
const PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
};

// Runs in every page before its own scripts: CSP violations are recorded,
// PeerConnections kept for getStats.
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
    window.RTCPeerConnection.generateCertificate = Orig.generateCertificate;
  }
}

async function newPage(browser, name) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  page.vejName = name;
  await page.setViewport({ width: 1000, height: 760 });
  await page.evaluateOnNewDocument(initScript);
  const log = fs.createWriteStream(path.join(cfg.work, name + '.console.log'));
  page.on('console', (m) => {
    const text = m.text();
    log.write(`${((Date.now() - t0) / 1000).toFixed(1)} ${m.type()}: ${text}\n`);
    if (/Content.Security.Policy|Refused to/i.test(text)) cspReports.push(`${name}: ${text}`);
    if (m.type() === 'error') problem(`${name}: console error: ${text}`);
  });
  // Firefox reports a CSP violation as a page error too
  page.on('pageerror', (e) => {
    if (/Content.Security.Policy/i.test(e.message)) cspReports.push(`${name}: ${e.message}`);
    else problem(`${name}: page error: ${e.message}`);
  });
  page.on('dialog', (d) => d.accept().catch(() => {}));
  return page;
}

async function checkCsp(page) {
  try {
    const v = await page.evaluate(() => { const x = window.__csp || []; window.__csp = []; return x; });
    for (const x of v) cspReports.push(`${page.vejName}: ${x}`);
  } catch (e) { /* page navigating or closed */ }
}

// Screenshot + axe for one screen.
async function screen(page, name) {
  await page.bringToFront();
  await new Promise((r) => setTimeout(r, 150));
  await page.screenshot({ path: path.join(cfg.shots, name + '.png'), fullPage: true });
  const has = await page.evaluate(() => typeof window.axe === 'object');
  if (!has) await page.evaluate(AXE);
  const { passes, res } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] })
    .then((r) => ({ passes: r.passes.length, res: r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })) })));
  if (passes < 5) problem(`axe on ${name}: only ${passes} rules passed (did it run?)`);
  const bad = res.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const minor = res.filter((v) => !bad.includes(v));
  axeReports.push({ screen: name, serious: bad.map((v) => v.id), other: minor.map((v) => v.id) });
  for (const v of bad) problem(`axe on ${name}: ${v.impact} ${v.id}: ${v.help} (${v.nodes.join('; ')})`);
  await checkCsp(page);
  say(`screen ${name}: saved; axe ${passes} rules passed, ${bad.length} serious/critical, ${minor.length} other`);
}

const visible = (page, sel, timeout = 15000) => page.waitForSelector(sel, { visible: true, timeout });

async function waitFor(page, fn, arg, timeout, what) {
  try {
    await page.waitForFunction(fn, { timeout, polling: 250 }, arg);
    return true;
  } catch (e) {
    problem(what + ' (' + e.message.split('\n')[0] + ')');
    return false;
  }
}

// In a participant's page: is the other participant (by role) seen and
// heard? Over about 2 s: the tile's <video> (size, currentTime,
// requestVideoFrameCallback), the audio track's level through an
// AnalyserNode, the inbound-rtp bytes of both receivers and this page's
// outbound-rtp bytes.
function probeMedia(role) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const live = () => (window.__pcs || []).filter((pc) => pc.connectionState !== 'closed');
  const receiverOf = (track) => {
    for (const pc of live()) for (const r of pc.getReceivers()) if (track && r.track === track) return r;
    return null;
  };
  const bytesIn = async (r) => {
    if (!r) return -1;
    let b = 0;
    (await r.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') b += s.bytesReceived || 0; });
    return b;
  };
  const bytesOut = async () => {
    const out = { audio: 0, video: 0 };
    for (const pc of live()) (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp') out[s.kind] = (out[s.kind] || 0) + (s.bytesSent || 0);
    });
    return out;
  };
  return (async () => {
    const tile = document.querySelector(`#tiles .tile[data-role="${role}"]`);
    if (!tile) return { error: 'no tile for ' + role, tiles: [...document.querySelectorAll('#tiles .tile')].map((t) => t.dataset.role || 'self') };
    const v = tile.querySelector('video');
    const vtrack = v && v.srcObject && v.srcObject.getVideoTracks()[0];
    const a = document.querySelector(`#audio-out audio[data-participant="${tile.dataset.participant}"]`);
    const atrack = a && a.srcObject && a.srcObject.getAudioTracks()[0];
    const out = { video: tile.dataset.video, label: tile.querySelector('.label').textContent,
                  hasVideoTrack: !!vtrack, hasAudioTrack: !!atrack, audioPaused: a ? a.paused : null };
    if (!vtrack || !atrack) return out;
    const vr = receiverOf(vtrack), ar = receiverOf(atrack);
    const vb0 = await bytesIn(vr), ab0 = await bytesIn(ar), o0 = await bytesOut();
    const t0 = v.currentTime;
    let frames = 0, presented0 = null, presented1 = null;
    const onFrame = (now, md) => {
      frames += 1;
      if (presented0 === null) presented0 = md.presentedFrames;
      presented1 = md.presentedFrames;
      v.requestVideoFrameCallback(onFrame);
    };
    const hasRvfc = typeof v.requestVideoFrameCallback === 'function';
    if (hasRvfc) v.requestVideoFrameCallback(onFrame);
    const ctx = new AudioContext();
    await ctx.resume();
    const an = ctx.createAnalyser();
    an.fftSize = 1024;
    ctx.createMediaStreamSource(new MediaStream([atrack])).connect(an);
    const buf = new Float32Array(an.fftSize);
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      await sleep(100);
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const x of buf) sum += x * x;
      peak = Math.max(peak, Math.sqrt(sum / buf.length));
    }
    const ctxState = ctx.state;
    await ctx.close();
    const vb1 = await bytesIn(vr), ab1 = await bytesIn(ar), o1 = await bytesOut();
    return Object.assign(out, {
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, paused: v.paused, readyState: v.readyState,
      timeAdvance: v.currentTime - t0, hasRvfc, frames, presented: [presented0, presented1],
      audioLevel: peak, ctxState, videoBytesIn: vb1 - vb0, audioBytesIn: ab1 - ab0,
      videoBytesOut: o1.video - o0.video, audioBytesOut: o1.audio - o0.audio,
      haveReceivers: !!vr && !!ar,
    });
  })();
}

const mediaOk = (r) => r && !r.error && r.video === 'yes' && r.videoWidth > 0 && !r.paused && r.timeAdvance > 0.5 &&
  r.hasRvfc && r.frames >= 5 && r.audioLevel > 0.005 && r.videoBytesIn > 0 && r.audioBytesIn > 0 &&
  r.videoBytesOut > 0 && r.audioBytesOut > 0;

// Waits (up to timeoutMs) until `page` plays the video and sound of the
// participant with role `role`; a problem when it never does.
async function expectMedia(page, role, when, timeoutMs = 20000) {
  // each page is a window of its own: Firefox paints (and so calls
  // requestVideoFrameCallback in) the one in front, as a person would have it
  await page.bringToFront();
  const end = Date.now() + timeoutMs;
  let r = null;
  while (Date.now() < end) {
    r = await page.evaluate(probeMedia, role).catch((e) => ({ error: e.message }));
    if (mediaOk(r)) {
      say(`${page.vejName} ${when}: ${role} ${r.videoWidth}x${r.videoHeight}, +${r.timeAdvance.toFixed(2)} s, ` +
          `${r.frames} frame callbacks, audio level ${r.audioLevel.toFixed(3)}, in ${r.videoBytesIn}/${r.audioBytesIn} B ` +
          `(video/audio) in 2 s, out ${r.videoBytesOut}/${r.audioBytesOut} B`);
      return r;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  problem(`${page.vejName} ${when}: no media from the ${role}: ${JSON.stringify(r)}`);
  return r;
}

// A click on what `sel` finds, again if the page re-rendered it between
// finding and clicking (the console rebuilds its rows on every change).
async function click(page, sel) {
  for (let i = 0; ; i++) {
    try {
      await page.waitForSelector(sel, { visible: true, timeout: 10000 });
      return await page.click(sel);
    } catch (e) {
      if (i >= 5 || !/detached|not clickable|no node/i.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function login(page, user, password) {
  await visible(page, '#login-form');
  await page.type('#login-user', user);
  await page.type('#login-pass', password);
  await page.click('#login-form button[type=submit]');
  await visible(page, '#s-home');
}

async function move(clerk, id, place, room) {
  await clerk.bringToFront();
  await clerk.select(`select[data-move="${id}"]`, place);
  if (room) {
    await clerk.$eval(`input[data-room="${id}"]`, (el) => { el.value = ''; });
    await clerk.type(`input[data-room="${id}"]`, room);
  }
  await click(clerk, `button[data-move-go="${id}"]`);
  // as a person would, the clerk sees the move done before the next one
  // (the rows are rebuilt, and may shift, when the roster changes)
  const want = place === 'consultation' ? 'consultation:' + room : place;
  await clerk.waitForSelector(`#roster tr[data-participant="${id}"][data-place="${want}"]`, { timeout: 10000 })
    .catch(() => problem(`clerk: the move of ${id} to ${want} is not shown`));
}

async function scenario(browser, pages) {
  const base = cfg.base;
  // ---- 1. the clerk's console in Firefox ----
  const clerk = await newPage(browser, 'clerk');
  pages.push(clerk);
  await clerk.goto(base + '/');
  await visible(clerk, '#login-form');
  await screen(clerk, 'ff-01-console-login');
  // keyboard: from the screen's heading (which has the focus) Tab reaches
  // the username with a visible focus ring, in Firefox too
  await clerk.keyboard.press('Tab');
  const f = await clerk.evaluate(() => {
    const el = document.activeElement;
    const cs = getComputedStyle(el);
    return { id: el.id, ring: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 };
  });
  if (f.id !== 'login-user' || !f.ring) problem('keyboard: Tab does not reach the username with a visible focus: ' + JSON.stringify(f));
  await login(clerk, cfg.clerkUser, cfg.clerkPassword);
  await clerk.goto(base + '/#/live/' + cfg.hearingId);
  await visible(clerk, '#live-state-buttons button[data-state=adjourned]');
  say('clerk signed in; live hearing open (in session)');

  // ---- 2. the participants: self-test, lobby ----
  const people = cfg.people.map((p) => Object.assign({}, p));
  for (const p of people) {
    p.page = await newPage(browser, p.key);
    pages.push(p.page);
    await p.page.goto(p.url);
    await visible(p.page, '#s-selftest');
    const url = p.page.url();
    if (/#|t=/.test(url)) problem(`${p.key}: the token is still in the address bar: ${url}`);
    const stored = await p.page.evaluate(() => ({ join: !!sessionStorage.getItem('vej.p.join'), local: localStorage.length }));
    if (!stored.join || stored.local) problem(`${p.key}: token not in sessionStorage only: ${JSON.stringify(stored)}`);
    await p.page.waitForSelector('#st-continue:enabled', { timeout: 15000 });
    // the network check gathers for up to 3 s: all four checks done
    await waitFor(p.page, () => document.querySelectorAll('#st-checks li.ok, #st-checks li.bad').length === 4, null, 8000,
      `${p.key}: the self-test checks did not finish`);
    const checks = await p.page.$$eval('#st-checks li', (lis) => lis.map((li) => [li.className, li.textContent]));
    const bad = checks.filter(([c]) => c !== 'ok');
    if (bad.length) problem(`${p.key}: self-test checks not passed in Firefox: ${JSON.stringify(bad)}`);
    // the first AudioContext of a Firefox opens its sound output (PulseAudio
    // here) before it runs: slow on a busy machine
    await waitFor(p.page, () => Number(document.querySelector('#st-level').value) > 0, null, 15000,
      `${p.key}: the microphone meter never moved`);
    const preview = await p.page.$eval('#st-preview', (v) => ({ w: v.videoWidth, t: v.currentTime }));
    if (!preview.w) problem(`${p.key}: the camera preview shows nothing: ${JSON.stringify(preview)}`);
    if (p.key === 'defendant') {
      // the test sound on the chosen speaker (setSinkId on Firefox's output device)
      const outs = await p.page.$$eval('#st-speaker option', (os) => os.map((o) => o.value).filter(Boolean));
      if (!outs.length) problem('defendant: no speaker to choose in Firefox');
      await p.page.click('#st-tone');
      await new Promise((r) => setTimeout(r, 1300));
      const err = await p.page.$eval('#st-error', (e) => (e.hidden ? '' : e.textContent));
      if (err) problem('defendant: the self-test shows an error: ' + err);
      await screen(p.page, 'ff-02-participant-selftest');
    }
    await p.page.click('#st-continue');
    await visible(p.page, '#s-lobby');
  }
  await screen(people[0].page, 'ff-03-participant-lobby');

  // ---- 3. admitted from the console ----
  await waitFor(clerk, (n) => document.querySelectorAll('#lobby li[data-participant]').length >= n, people.length, 15000,
    'clerk: the lobby queue does not show both participants');
  await screen(clerk, 'ff-04-console-lobby-queue');
  await clerk.bringToFront();
  for (const p of people) await click(clerk, `#lobby button[data-admit="${p.id}"]`);
  for (const p of people) await visible(p.page, '#banner-recorded');
  say('both admitted from the console; recorded banner shown');

  // ---- 4. media both ways ----
  const [def, adv] = people;
  await expectMedia(def.page, 'defence', 'in the courtroom');
  await expectMedia(adv.page, 'defendant', 'in the courtroom');
  // active speaker (Firefox's fake microphones play a tone) and connection quality
  await waitFor(def.page, () => document.querySelector('#tiles .tile.speaking'), null, 10000,
    'defendant: no active-speaker highlight');
  for (const p of people) {
    const q = await p.page.$eval('#quality', (e) => e.dataset.level);
    if (q !== 'good' && q !== 'fair') problem(`${p.key}: connection quality shown as ${q}`);
  }
  await screen(def.page, 'ff-05-defendant-hearing');
  await screen(adv.page, 'ff-06-advocate-hearing');
  await adv.page.setViewport({ width: 360, height: 740 });
  await screen(adv.page, 'ff-06b-advocate-hearing-phone');
  const wide = await adv.page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 360) problem(`phone-sized hearing page scrolls sideways in Firefox (${wide} px wide)`);
  await adv.page.setViewport({ width: 1000, height: 760 });
  await screen(clerk, 'ff-07-console-live');

  // ---- 5. consultation and back ----
  // the defendant alone: the two lose each other
  await move(clerk, def.id, 'consultation', 'defence');
  await visible(def.page, '#banner-private');
  if (await def.page.$('#banner-recorded')) problem('defendant: recorded banner in a consultation');
  await waitFor(def.page, () => !document.querySelector('#tiles .tile[data-role=defence]'), null, 10000,
    'defendant alone in the consultation still shows the advocate');
  await waitFor(adv.page, () => !document.querySelector('#tiles .tile[data-role=defendant]'), null, 10000,
    'the advocate still shows the defendant who went into the consultation');
  say('defendant alone in the consultation room "defence": private banner, the two no longer see each other');
  // the advocate joins: media between them in the consultation room
  await move(clerk, adv.id, 'consultation', 'defence');
  await visible(adv.page, '#banner-private');
  await expectMedia(def.page, 'defence', 'in the consultation');
  await expectMedia(adv.page, 'defendant', 'in the consultation');
  await screen(def.page, 'ff-08-defendant-consultation');
  // both back to the courtroom, the defendant first
  for (const p of people) await move(clerk, p.id, 'main');
  for (const p of people) {
    await visible(p.page, '#banner-recorded');
    if (await p.page.$('#banner-private')) problem(`${p.key}: private banner back in the courtroom`);
  }
  await expectMedia(def.page, 'defence', 'back in the courtroom');
  await expectMedia(adv.page, 'defendant', 'back in the courtroom');
  say('consultation and back: banners right, media resumed');

  // ---- 5b. every page's media are cut for 6 s (nftables): they come back
  // in the same place (the gateway gives up on consent and reports the
  // subscribe PC failed: the page restarts its ICE with webrtc.restart_ice;
  // a PC Firefox saw disconnected reconnects or is restarted) ----
  const seen = new Set();
  execFileSync(cfg.cut, ['on']);
  const tCut = Date.now();
  try {
    while (Date.now() - tCut < 6000) {
      seen.add(await def.page.$eval('#quality', (e) => e.dataset.level));
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    execFileSync(cfg.cut, ['off']);
  }
  say(`media cut for ${Date.now() - tCut} ms; the defendant's quality shown meanwhile: ${[...seen].join(', ')}`);
  if (!seen.has('offline') && !seen.has('poor')) problem('defendant: the cut was never shown (quality ' + [...seen].join(', ') + ')');
  await expectMedia(def.page, 'defence', 'after the cut', 30000);
  await expectMedia(adv.page, 'defendant', 'after the cut', 30000);
  for (const p of people) if (!(await p.page.$('#banner-recorded'))) problem(`${p.key}: not back in the courtroom after the cut`);

  // ---- 6. a reload keeps the tab in the hearing (sessionStorage), media again ----
  await adv.page.reload();
  await visible(adv.page, '#s-hearing', 20000);
  if (await adv.page.$eval('#s-selftest', (e) => !e.hidden)) problem('advocate: self-test shown again after a reload');
  await visible(adv.page, '#banner-recorded');
  await expectMedia(adv.page, 'defendant', 'after reloading');
  await expectMedia(def.page, 'defence', 'after the advocate reloaded');

  // ---- a Firefox without WebRTC (media.peerconnection.enabled off, say)
  // is told what it lacks ----
  const old = await newPage(browser, 'no-webrtc');
  pages.push(old);
  await old.evaluateOnNewDocument(() => { delete window.RTCPeerConnection; });
  await old.goto(cfg.base + '/join#t=x.y.z');
  await visible(old, '#unsupported');
  const msg = await old.$eval('#unsupported', (e) => e.textContent);
  if (!/WebRTC/.test(msg)) problem('unsupported message does not say what is missing: ' + msg);
  await screen(old, 'ff-09-unsupported-browser');

  // the CSP check can fail in Firefox too: an inline script put in on
  // purpose is blocked and reported
  const before = cspReports.length;
  await adv.page.evaluate(() => { const el = document.createElement('script'); el.textContent = 'window.__ran = 1'; document.head.append(el); });
  // both the securitypolicyviolation event and Firefox's page error
  for (const end = Date.now() + 3000; Date.now() < end && cspReports.length < before + 2;) {
    await new Promise((r) => setTimeout(r, 100));
    await checkCsp(adv.page);
  }
  const ran = await adv.page.evaluate(() => window.__ran === 1);
  const got = cspReports.splice(before);
  if (ran || got.length < 2) problem(`the CSP did not block or report an inline script (ran ${ran}, reports ${JSON.stringify(got)})`);
  else say('an inline script put in on purpose: blocked and reported');
}

async function main() {
  fs.mkdirSync(cfg.shots, { recursive: true });
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox', executablePath: cfg.firefox, headless: true, timeout: 30000,
      acceptInsecureCerts: true, extraPrefsFirefox: PREFS, protocolTimeout: 30000,
    });
  } catch (e) {
    problem('Firefox could not be started: ' + (e && e.message));
    return;
  }
  say(`Firefox ${await browser.version()} over WebDriver BiDi`);
  const pages = [];
  try {
    await scenario(browser, pages);
  } finally {
    for (const p of pages) await checkCsp(p);
    await browser.close().catch(() => {});
  }
}

const hard = setTimeout(() => {
  problem(`hard timeout after ${cfg.hardTimeoutMs} ms`);
  finish(1);
}, cfg.hardTimeoutMs || 100000);

function finish(code) {
  clearTimeout(hard);
  for (const c of cspReports) problem('CSP violation: ' + c);
  fs.writeFileSync(path.join(cfg.shots, 'axe.json'), JSON.stringify(axeReports, null, 1));
  say(problems.length ? `FAIL (${problems.length} problems)` : 'PASS');
  process.exit(problems.length ? 1 : code);
}

main().then(() => finish(0)).catch((e) => {
  problem('scenario stopped: ' + (e && e.stack || e));
  finish(1);
});
