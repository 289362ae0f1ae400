// Drives two (or more) headless Chromium participants through VEJ Gateway
// with playwright-core and Debian's /usr/bin/chromium (no browser download).
//
//   node run_chromium.mjs CONFIG.json
//
// CONFIG (written by test_chromium.py, which also runs the daemon and the
// clerk that admits the participants):
//   {
//     "chromium": "/usr/bin/chromium",
//     "userDataDir": "/tmp/.../profile",     fresh, used for --user-data-dir
//     "certPem": "DATA_DIR/tls/cert.pem",    the gateway's self-signed cert:
//                                            trusted by its SPKI hash only
//     "ignoreCertErrors": false,             true: --ignore-certificate-errors
//     "participants": [{"name", "ws", "token", "participant_id", "setup"}],
//     "minFrames": 30, "timeoutMs": 30000,   each participant must decode
//                                            minFrames video frames from
//                                            every other one within timeoutMs
//     "expectGcmWhereGatewayServer": true,   AEAD_AES_128_GCM expected on the
//                                            PCs where the gateway is DTLS server
//     "stagger": true, "staggerMs": 1000,    open the next participant only once
//                                            the previous one published and
//                                            subscribed (+ staggerMs); false:
//                                            all at once (racy order)
//     "resultPath": "/tmp/.../result.json"
//   }
// A participant may carry "subscribeBundlePolicy": "balanced" (diagnosis).
//
// "loss": {"dropEvery": 15, "holdMs": 8000} makes every page talk to the
// gateway through a UDP relay of this process (LossRelay below) that drops
// every dropEvery-th video RTP packet (the codec PT of the video m-lines,
// never RTX or RTCP) in the media direction of each PC: from the page on
// publish, to the page on subscribe. After everyone decoded minFrames the
// run goes on for holdMs; then each page must show NACKs and
// retransmissions (getStats inbound nackCount, retransmittedPacketsReceived;
// outbound nackCount, retransmittedPacketsSent) and keep decoding.
//
// The page (page.html + page.js) is served from a throwaway HTTP server on
// 127.0.0.1 (a secure context, so getUserMedia works; the wss:// socket to
// the gateway is allowed from it). Prints progress and a summary, writes the
// result JSON to resultPath and exits 0 (pass), 1 (fail) or 2 (could not run).
import { chromium } from 'playwright-core';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STATIC = {
  '/page.html': ['page.html', 'text/html; charset=utf-8'],
  '/page.js': ['page.js', 'text/javascript; charset=utf-8'],
};
const KNOWN_CIPHERS = ['AEAD_AES_128_GCM', 'AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80',
                       'AES_CM_128_HMAC_SHA1_32'];

const T0 = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const elapsed = () => ((Date.now() - T0) / 1000).toFixed(1) + 's';
const say = (msg) => process.stdout.write(`[chromium ${elapsed()}] ${msg}\n`);

// SRTP profile names: the gateway reports the RFC 4568 / libsrtp spelling
// (AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80); Chromium 156's getStats says
// SRTP_AEAD_AES_128_GCM and SRTP_AES128_CM_HMAC_SHA1_80 (BoringSSL's names);
// OpenSSL's are SRTP_AES128_CM_SHA1_80. All map to the RFC 4568 spelling.
const CIPHER_ALIASES = {
  SRTP_AEAD_AES_128_GCM: 'AEAD_AES_128_GCM',
  SRTP_AEAD_AES_256_GCM: 'AEAD_AES_256_GCM',
  SRTP_AES128_CM_SHA1_80: 'AES_CM_128_HMAC_SHA1_80',
  SRTP_AES128_CM_HMAC_SHA1_80: 'AES_CM_128_HMAC_SHA1_80',
  SRTP_AES128_CM_SHA1_32: 'AES_CM_128_HMAC_SHA1_32',
  SRTP_AES128_CM_HMAC_SHA1_32: 'AES_CM_128_HMAC_SHA1_32',
};
const normCipher = (name) => CIPHER_ALIASES[name] || name;

function spkiHash(pemPath) {
  const cert = new crypto.X509Certificate(fs.readFileSync(pemPath));
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64');
}

function serve() {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const f = STATIC[u.pathname];
    if (req.method !== 'GET' || !f) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': f[1], 'Cache-Control': 'no-store',
                         'Referrer-Policy': 'no-referrer' });
    res.end(fs.readFileSync(path.join(HERE, f[0])));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function chromiumArgs(cfg) {
  const args = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-dev-shm-usage',
  ];
  if (cfg.ignoreCertErrors) args.push('--ignore-certificate-errors');
  else args.push('--ignore-certificate-errors-spki-list=' + spkiHash(cfg.certPem));
  return args;
}

// ---- the loss relay ------------------------------------------------------------------

// One UDP relay in front of one gateway address: the page's side listens
// on 127.0.0.1:port (what the page's SDP names), the gateway's side sends
// from another socket, so the gateway sees the relay as the page's
// (peer-reflexive) address. Drops every dropEvery-th RTP packet whose
// payload type is in `pts`, travelling in direction `dir`.
class LossRelay {
  constructor(target, dir, dropEvery) {
    this.target = target;
    this.dir = dir;
    this.dropEvery = dropEvery;
    this.pts = new Set();
    this.peer = null;
    this.counts = { up: 0, down: 0, video: 0, dropped: 0 };
    this.near = dgram.createSocket('udp4');
    this.far = dgram.createSocket('udp4');
    this.near.on('message', (msg, rinfo) => {
      this.peer = rinfo;
      this.counts.up++;
      if (!this.drop('up', msg)) this.far.send(msg, target.port, target.address);
    });
    this.far.on('message', (msg) => {
      this.counts.down++;
      if (this.peer && !this.drop('down', msg)) this.near.send(msg, this.peer.port, this.peer.address);
    });
  }

  async start() {
    const bind = (sock) => new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => resolve());
    });
    await bind(this.near);
    await bind(this.far);
    return this.near.address().port;
  }

  // RTP (RFC 7983: first byte 128-191) that is not RTCP (PT 64-95 with rtcp-mux)
  drop(dir, msg) {
    if (dir !== this.dir || msg.length < 12 || msg[0] < 128 || msg[0] > 191) return false;
    const pt = msg[1] & 0x7f;
    if ((pt >= 64 && pt <= 95) || !this.pts.has(pt)) return false;
    this.counts.video++;
    if (this.counts.video % this.dropEvery !== 0) return false;
    this.counts.dropped++;
    return true;
  }

  close() {
    this.near.close();
    this.far.close();
  }
}

// key (page:pc) -> {port of the first relay, relays by gateway address}
async function lossRelay(relays, cfg, key, address, port, dir, pts) {
  // A gateway candidate may already be a relay's own address (libnice
  // lists the peer-reflexive address it learnt through the relay): kept.
  for (const other of relays.values()) {
    if (address === '127.0.0.1' && other.port === port) return port;
  }
  let r = relays.get(key + ' ' + address + ':' + port);
  if (!r && address) {
    r = new LossRelay({ address, port }, dir, cfg.loss.dropEvery || 15);
    r.key = key;
    r.port = await r.start();
    relays.set(key + ' ' + address + ':' + port, r);
    say(`loss relay ${key}: 127.0.0.1:${r.port} -> ${address}:${port}, dropping every ` +
        `${r.dropEvery}th video packet going ${dir}`);
  }
  for (const other of relays.values()) {
    if (other.key === key && pts && pts.length) other.pts = new Set(pts);
  }
  return r ? r.port : 0;
}

function relayTotals(relays, key) {
  const t = { video: 0, dropped: 0 };
  for (const r of relays.values()) {
    if (r.key !== key) continue;
    t.video += r.counts.video;
    t.dropped += r.counts.dropped;
  }
  return t;
}

// ---- what the test checks -------------------------------------------------------

function fromPeer(stats, other, kind) {
  return stats.inbound.filter((s) => s.kind === kind && s.participant_id === other.participant_id);
}

function progressLine(p, stats, others) {
  const parts = [];
  for (const o of others) {
    const v = fromPeer(stats, o, 'video').map((s) => s.framesDecoded || 0);
    const a = fromPeer(stats, o, 'audio').map((s) => s.packetsReceived || 0);
    parts.push(`from ${o.name}: video frames ${v.length ? v.join('+') : '-'}, ` +
               `audio packets ${a.length ? a.join('+') : '-'}`);
  }
  const pcs = Object.entries(stats.pcs).map(([k, v]) => `${k} ${v.connectionState}`).join(', ');
  const unmapped = stats.inbound.filter((s) => !s.participant_id)
    .map((s) => `${s.kind} mid ${s.mid} (${s.framesDecoded ?? s.packetsReceived ?? 0})`);
  return `${p.name}: phase ${stats.phase}, place ${stats.place}; ${pcs || 'no PCs'}; ` +
         parts.join('; ') + (unmapped.length ? '; unmapped inbound: ' + unmapped.join(', ') : '');
}

function decodedEnough(stats, others, minFrames) {
  return others.every((o) =>
    fromPeer(stats, o, 'video').some((s) => (s.framesDecoded || 0) >= minFrames) &&
    fromPeer(stats, o, 'audio').some((s) => (s.packetsReceived || 0) > 0));
}

// With loss: NACKs and retransmissions on both hops, decoding going on.
function checkLoss(p, stats, others, cfg, before, relays) {
  const problems = [];
  const sub = relayTotals(relays, p.name + ':subscribe');
  const pub = relayTotals(relays, p.name + ':publish');
  say(`${p.name}: the relays dropped ${sub.dropped} of ${sub.video} video packets to it ` +
      `and ${pub.dropped} of ${pub.video} from it`);
  if (!sub.dropped || !pub.dropped)
    problems.push(`${p.name}: the loss relays dropped nothing (${JSON.stringify({ sub, pub })})`);
  for (const o of others) {
    const v = fromPeer(stats, o, 'video');
    const vb = fromPeer(before, o, 'video');
    const nacks = v.reduce((n, s) => n + (s.nackCount || 0), 0);
    const rtx = v.reduce((n, s) => n + (s.retransmittedPacketsReceived || 0), 0);
    const frames = Math.max(0, ...v.map((s) => s.framesDecoded || 0));
    const framesBefore = Math.max(0, ...vb.map((s) => s.framesDecoded || 0));
    const fps = (frames - framesBefore) * 1000 / cfg.loss.holdMs;
    say(`${p.name} <- ${o.name} under loss: nackCount ${nacks}, retransmittedPacketsReceived ` +
        `${rtx}, framesDecoded ${framesBefore} -> ${frames} (${fps.toFixed(1)} fps over ` +
        `${cfg.loss.holdMs} ms), packetsLost ${v.map((s) => s.packetsLost).join('+')}, ` +
        `freezes ${v.map((s) => s.freezeCount).join('+')}`);
    if (!nacks) problems.push(`${p.name} sent no NACK for ${o.name}'s video despite the loss`);
    if (v.some((s) => s.retransmittedPacketsReceived === undefined))
      problems.push(`${p.name}: getStats has no retransmittedPacketsReceived`);
    else if (!rtx) problems.push(`${p.name} received no retransmission of ${o.name}'s video`);
    if (fps < (cfg.loss.minFps || 10))
      problems.push(`${p.name} decoded ${o.name}'s video at ${fps.toFixed(1)} fps under loss ` +
                    `(need ${cfg.loss.minFps || 10})`);
  }
  for (const s of stats.outbound.filter((x) => x.kind === 'video')) {
    say(`${p.name} publishes under loss: nackCount ${s.nackCount}, retransmittedPacketsSent ` +
        `${s.retransmittedPacketsSent}`);
    if (!s.nackCount) problems.push(`${p.name}: the gateway sent no NACK for its video`);
    if (!s.retransmittedPacketsSent) problems.push(`${p.name} retransmitted none of its video`);
  }
  return problems;
}

function checkParticipant(p, stats, others, cfg) {
  const problems = [];
  for (const o of others) {
    const v = fromPeer(stats, o, 'video');
    const best = Math.max(0, ...v.map((s) => s.framesDecoded || 0));
    if (best < cfg.minFrames) {
      problems.push(`${p.name} decoded ${best} video frames from ${o.name} ` +
                    `(need ${cfg.minFrames}; inbound video tracks from them: ${v.length})`);
    }
    const a = fromPeer(stats, o, 'audio');
    if (!a.some((s) => (s.packetsReceived || 0) > 0))
      problems.push(`${p.name} received no audio packets from ${o.name} (tracks: ${a.length})`);
  }
  const cipher = {};
  for (const pc of ['publish', 'subscribe']) {
    const t = stats.transport[pc];
    const gw = stats.gatewayStates.filter((s) => s.pc === pc && s.state === 'connected').pop();
    // On publish the gateway answers a=setup:passive (Chromium is DTLS
    // client); on subscribe Chromium answers active unless munged to passive.
    const chromiumRole = pc === 'publish' ? 'client' : (p.setup === 'passive' ? 'server' : 'client');
    cipher[pc] = {
      srtpCipher: t && t.srtpCipher, dtlsCipher: t && t.dtlsCipher, dtlsRole: t && t.dtlsRole,
      tlsVersion: t && t.tlsVersion, dtlsState: t && t.dtlsState,
      gatewayRole: chromiumRole === 'client' ? 'server' : 'client',
      gatewayReports: gw ? gw.reason : null,
      selectedPair: t && t.selectedPair,
    };
    if (!t) {
      problems.push(`${p.name} ${pc}: no transport in getStats`);
      continue;
    }
    if (t.dtlsState !== 'connected')
      problems.push(`${p.name} ${pc}: dtlsState ${t.dtlsState}`);
    if (t.dtlsRole !== chromiumRole)
      problems.push(`${p.name} ${pc}: Chromium's dtlsRole is ${t.dtlsRole}, expected ${chromiumRole}`);
    const srtp = normCipher(t.srtpCipher);
    cipher[pc].srtpProfile = srtp;
    if (!KNOWN_CIPHERS.includes(srtp))
      problems.push(`${p.name} ${pc}: unknown srtpCipher ${t.srtpCipher}`);
    if (!gw) {
      problems.push(`${p.name} ${pc}: no webrtc.state connected from the gateway (states: ` +
                    JSON.stringify(stats.gatewayStates.filter((s) => s.pc === pc)) + ')');
    } else if (normCipher(gw.reason) !== srtp) {
      problems.push(`${p.name} ${pc}: the gateway reports ${gw.reason}, Chromium ${t.srtpCipher}`);
    }
    if (cfg.expectGcmWhereGatewayServer && chromiumRole === 'client' &&
        srtp !== 'AEAD_AES_128_GCM') {
      problems.push(`${p.name} ${pc}: the gateway, DTLS server, chose ${t.srtpCipher} ` +
                    '(AEAD_AES_128_GCM preferred and offered by Chromium)');
    }
  }
  if (stats.candidateRefusals && stats.candidateRefusals.length) {
    say(`${p.name}: note: the gateway refused ${stats.candidateRefusals.length} TCP candidate(s) ` +
        `(ice-tcp off), e.g. ${stats.candidateRefusals[0]}`);
  }
  if (stats.errors.length)
    problems.push(`${p.name}: page errors:\n    ` + stats.errors.join('\n    '));
  return { problems, cipher };
}

// ---- main ---------------------------------------------------------------------------

async function main() {
  const cfgPath = process.argv[2];
  if (!cfgPath) {
    console.error('usage: node run_chromium.mjs CONFIG.json');
    return 2;
  }
  const cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8'));
  if (!Array.isArray(cfg.participants) || cfg.participants.length < 2) {
    console.error('run_chromium.mjs: at least two participants are needed');
    return 2;
  }
  cfg.minFrames = cfg.minFrames || 30;
  cfg.timeoutMs = cfg.timeoutMs || 30000;
  if (cfg.expectGcmWhereGatewayServer === undefined) cfg.expectGcmWhereGatewayServer = true;
  const result = { ok: false, problems: [], participants: [], chromium: null,
                   minFrames: cfg.minFrames, timeoutMs: cfg.timeoutMs, msToDecode: null };
  const writeResult = () => {
    if (cfg.resultPath) fs.writeFileSync(cfg.resultPath, JSON.stringify(result, null, 2));
  };

  let server = null;
  let context = null;
  let rc = 2;
  const relays = new Map();
  const hardStop = setTimeout(async () => {
    say(`hard timeout: giving up after ${cfg.hardTimeoutMs || 120000} ms`);
    result.problems.push(`hard timeout (${cfg.hardTimeoutMs || 120000} ms)`);
    writeResult();
    if (context) await Promise.race([context.close().catch(() => {}), sleep(3000)]);
    exit(1);
  }, cfg.hardTimeoutMs || 120000);
  try {
    server = await serve();
    const base = `http://127.0.0.1:${server.address().port}/page.html`;
    say(`page served at ${base}`);
    const args = chromiumArgs(cfg);
    context = await chromium.launchPersistentContext(cfg.userDataDir, {
      executablePath: cfg.chromium || '/usr/bin/chromium',
      headless: true,
      args,
      timeout: 30000,
      viewport: { width: 800, height: 600 },
      env: process.env,
    });
    const browser = context.browser();
    result.chromium = browser ? browser.version() : null;
    say(`Chromium ${result.chromium || '?'} started (${args.join(' ')})`);

    const parts = cfg.participants.map((p) => Object.assign({ setup: 'active' }, p));
    const pages = [];
    for (const p of parts) {
      const page = pages.length === 0 && context.pages().length ? context.pages()[0]
                                                                : await context.newPage();
      if (cfg.loss) {
        await page.exposeFunction('vejLossProxy', (key, address, port, dir, pts) =>
          lossRelay(relays, cfg, key, address, port, dir, pts));
      }
      p.console = [];
      page.on('console', (m) => {
        const line = `${m.type()}: ${m.text()}`;
        p.console.push(line);
        if (p.console.length > 400) p.console.shift();
        if (m.type() === 'error' || m.type() === 'warning') say(`${p.name} console ${line}`);
      });
      page.on('pageerror', (e) => { p.console.push('pageerror: ' + e); say(`${p.name} pageerror ${e}`); });
      page.on('crash', () => { p.console.push('page crashed'); say(`${p.name} page crashed`); });
      page.on('websocket', (ws) => {
        ws.on('socketerror', (e) => say(`${p.name} websocket error: ${e}`));
      });
      const frag = new URLSearchParams({ ws: p.ws, t: p.token, name: p.name, setup: p.setup });
      if (cfg.loss) frag.set('loss', '1');
      if (p.subscribeBundlePolicy) frag.set('bundle', p.subscribeBundlePolicy);
      await page.goto(base + '#' + frag.toString(), { waitUntil: 'load', timeout: 15000 });
      say(`${p.name} (${p.role || '?'}, ${p.participant_id}) page opened, subscribe answer ` +
          `a=setup:${p.setup}`);
      pages.push({ p, page });
      if (cfg.stagger && pages.length < parts.length) {
        // the next participant joins once this one publishes and subscribes:
        // its first subscribe offer carries nobody's tracks, the next one's
        // subscription starts after this one's video began
        const until = Date.now() + 15000;
        let st = null;
        while (Date.now() < until) {
          st = await page.evaluate(() => window.stats());
          if (st.phase === 'running' || st.phase === 'failed') break;
          await sleep(100);
        }
        say(`${p.name} phase ${st && st.phase}, offers ${JSON.stringify(st && st.offers)}; ` +
            'opening the next participant');
        await sleep(cfg.staggerMs || 1000);
      }
    }

    // ---- wait until everyone decodes everyone ----
    const tStart = Date.now();
    const deadline = tStart + cfg.timeoutMs;
    let snap = [];
    let lastPrint = 0;
    for (;;) {
      snap = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.stats())));
      const ok = pages.every(({ p }, i) =>
        decodedEnough(snap[i], parts.filter((o) => o !== p), cfg.minFrames));
      const failed = snap.some((s) => s.phase === 'failed');
      if (ok || failed || Date.now() > deadline || Date.now() - lastPrint > 2000) {
        lastPrint = Date.now();
        pages.forEach(({ p }, i) => say(progressLine(p, snap[i], parts.filter((o) => o !== p))));
      }
      if (ok) {
        result.msToDecode = Date.now() - tStart;
        say(`every participant decoded >= ${cfg.minFrames} frames from the other(s) ` +
            `after ${result.msToDecode} ms`);
        break;
      }
      if (failed) {
        say('a page failed to start; not waiting any longer');
        break;
      }
      if (Date.now() > deadline) {
        say(`timeout: not every participant decoded ${cfg.minFrames} frames within ${cfg.timeoutMs} ms`);
        break;
      }
      await sleep(500);
    }

    // ---- with loss: keep going for holdMs, decoding and repairing ----
    let before = null;
    if (cfg.loss && result.msToDecode !== null) {
      before = snap;
      say(`loss: holding ${cfg.loss.holdMs} ms more`);
      await sleep(cfg.loss.holdMs);
    }

    // ---- check and record ----
    snap = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.stats())));
    for (const [i, { p, page }] of pages.entries()) {
      const others = parts.filter((o) => o !== p);
      const { problems, cipher } = checkParticipant(p, snap[i], others, cfg);
      if (cfg.loss) {
        if (before) problems.push(...checkLoss(p, snap[i], others, cfg, before[i], relays));
        else problems.push(`${p.name}: no loss check (the pages never decoded enough)`);
      }
      result.problems.push(...problems);
      const decoded = {};
      for (const o of others) {
        decoded[o.name] = {
          video: fromPeer(snap[i], o, 'video').map((s) => pickKeys(s, ['mid', 'codec', 'framesDecoded',
            'framesReceived', 'keyFramesDecoded', 'frameWidth', 'frameHeight', 'packetsReceived',
            'packetsLost', 'decoderImplementation', 'pliCount', 'nackCount'])),
          video_loss: fromPeer(snap[i], o, 'video').map((s) => pickKeys(s, ['nackCount',
            'retransmittedPacketsReceived', 'retransmittedBytesReceived', 'freezeCount',
            'totalFreezesDuration'])),
          audio: fromPeer(snap[i], o, 'audio').map((s) => pickKeys(s, ['mid', 'codec',
            'packetsReceived', 'packetsLost', 'totalSamplesReceived'])),
        };
      }
      const sent = snap[i].outbound.map((s) => pickKeys(s, ['kind', 'mid', 'codec', 'packetsSent',
        'framesEncoded', 'keyFramesEncoded', 'pliCount', 'firCount', 'nackCount',
        'retransmittedPacketsSent']));
      const rtcp = snap[i].remote;
      const entry = { name: p.name, role: p.role, participant_id: p.participant_id, setup: p.setup,
                      decoded, sent, rtcp, cipher, stats: snap[i] };
      if (problems.length) {
        entry.log = await page.evaluate(() => window.vejLog()).catch(() => []);
        entry.sdp = await page.evaluate(() => window.vejSdp()).catch(() => null);
        entry.console = p.console.slice(-100);
      }
      result.participants.push(entry);
    }
    result.ok = result.problems.length === 0;
    printSummary(result);
    rc = result.ok ? 0 : 1;

    for (const { page } of pages) await page.evaluate(() => window.vejStop()).catch(() => {});
    await sleep(300);
  } catch (e) {
    say('error: ' + (e && e.stack || e));
    result.problems.push('runner error: ' + (e && e.message || e));
    rc = rc === 2 && result.participants.length ? 1 : 2;
  } finally {
    writeResult();
    if (context) await Promise.race([context.close().catch(() => {}), sleep(10000)]);
    if (server) {
      server.close();
      server.closeAllConnections();
    }
    for (const r of relays.values()) r.close();
    clearTimeout(hardStop);
  }
  return rc;
}

function pickKeys(o, keys) {
  const out = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

function printSummary(result) {
  say('---- summary ----');
  for (const e of result.participants) {
    for (const [from, d] of Object.entries(e.decoded)) {
      for (const v of d.video) {
        say(`${e.name} <- ${from} video mid ${v.mid} ${v.codec}: framesDecoded ${v.framesDecoded} ` +
            `(${v.frameWidth}x${v.frameHeight}, keyframes ${v.keyFramesDecoded}, ` +
            `packets ${v.packetsReceived}, lost ${v.packetsLost}, ${v.decoderImplementation})`);
      }
      for (const a of d.audio) {
        say(`${e.name} <- ${from} audio mid ${a.mid} ${a.codec}: packets ${a.packetsReceived}, ` +
            `lost ${a.packetsLost}, samples ${a.totalSamplesReceived}`);
      }
    }
    for (const o of e.sent) {
      say(`${e.name} publishes ${o.kind} mid ${o.mid} ${o.codec}: packets ${o.packetsSent}` +
          (o.kind === 'video' ? `, frames ${o.framesEncoded}, keyframes ${o.keyFramesEncoded}, ` +
           `PLI/FIR received from the gateway ${o.pliCount}/${o.firCount}, NACKs ${o.nackCount}` : ''));
    }
    for (const r of e.rtcp) {
      say(`${e.name} ${r.pc} PC ${r.type} ${r.kind} ssrc ${r.ssrc} (RTCP from the gateway): ` +
          JSON.stringify(pickKeys(r, ['packetsLost', 'fractionLost', 'roundTripTime',
                                      'roundTripTimeMeasurements', 'packetsSent', 'reportsSent'])));
    }
    if (!e.rtcp.length) say(`${e.name}: no RTCP report from the gateway in getStats (no RR/SR)`);
    for (const [pc, c] of Object.entries(e.cipher)) {
      say(`${e.name} ${pc} PC: SRTP ${c.srtpProfile} (getStats srtpCipher ${c.srtpCipher}), ` +
          `dtlsCipher ${c.dtlsCipher}, ` +
          `${c.tlsVersion ? 'tlsVersion ' + c.tlsVersion + ', ' : ''}Chromium dtlsRole ${c.dtlsRole} ` +
          `(gateway DTLS ${c.gatewayRole}), gateway webrtc.state connected reason ` +
          `${c.gatewayReports}; pair ${c.selectedPair ? c.selectedPair.local + ' -> ' +
          c.selectedPair.remote : '-'}`);
    }
  }
  if (result.problems.length) {
    say('FAILED:');
    for (const p of result.problems) say('  - ' + p);
  } else {
    say('PASSED');
  }
}

// Exit as soon as main is done (idle HTTP keep-alive sockets and playwright's
// own handles would otherwise keep Node alive for another ~10 s).
const exit = (rc) => process.stdout.write('', () => process.exit(rc));
main().then(exit, (e) => { say('fatal: ' + (e && e.stack || e)); exit(2); });
