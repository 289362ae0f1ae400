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
//     "resultPath": "/tmp/.../result.json",
//     "consentRecovery": false,              true (with iceRestart): then the
//     "freezeMs": 13000,                     second participant (a browser of
//                                            its own) is frozen (SIGSTOP) for
//                                            freezeMs, until the gateway loses
//                                            consent on its PCs; once thawed,
//                                            ICE restarts must bring media
//                                            back (consentRecoveryPhase)
//     "iceRestart": false                    true: once everyone decodes, ICE
//                                            restarts (iceRestartPhase): the
//                                            first participant's publish PC,
//                                            then the second's and the first's
//                                            subscribe PCs; each must get new
//                                            ICE credentials on both sides, a
//                                            pair of the new generation, the
//                                            same DTLS association, and video
//                                            must keep being decoded
//   }
// A participant may carry "subscribeBundlePolicy": "balanced" (diagnosis), and
// "unsignalled": true: its publish offers reach the gateway without a=ssrc
// lines (the page's nossrc), so the gateway maps its packets to tracks by the
// mid header extension.
//
// Header extensions (checkExtensions), on every participant: the subscribe
// PC's receiving transceivers negotiated mid and abs-send-time (audio also
// audio-level, and Chromium reads an audio level from it), the publish PC
// mid (audio also audio-level) but not abs-send-time, and no transceiver
// transport-wide-cc. That Chromium decodes at all with mid negotiated shows
// the gateway's mid values right: it routes packets by them.
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
const EXT_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const EXT_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
const EXT_AUDIO_LEVEL = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
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

// Header extensions per hop (DESIGN.md 3), as Chromium negotiated them.
function checkExtensions(p, stats) {
  const problems = [];
  const shortUri = (u) => u.replace(/^.*[/:]/, '');
  const recv = stats.extensions.filter((e) => e.pc === 'subscribe' && e.direction === 'recvonly');
  if (!recv.length) problems.push(`${p.name}: no receiving transceiver on the subscribe PC`);
  for (const e of stats.extensions) {
    if (e.pc === 'subscribe' && e.direction !== 'recvonly') continue;
    const uris = e.headerExtensions.map((h) => h.uri);
    const want = e.pc === 'subscribe' ? [EXT_MID, EXT_ABS_SEND_TIME] : [EXT_MID];
    if (e.kind === 'audio') want.push(EXT_AUDIO_LEVEL);
    const label = `${p.name} ${e.pc} mid ${e.mid} (${e.kind})`;
    for (const u of want)
      if (!uris.includes(u)) problems.push(`${label}: ${shortUri(u)} not negotiated (${uris})`);
    if (uris.some((u) => /transport-wide-cc/.test(u)))
      problems.push(`${label}: transport-wide-cc negotiated`);
    if (e.pc === 'publish' && uris.includes(EXT_ABS_SEND_TIME))
      problems.push(`${label}: abs-send-time accepted from a publisher (the gateway uses none)`);
    if (e.pc === 'subscribe' && e.kind === 'audio' &&
        !(e.audioLevels || []).some((l) => typeof l === 'number'))
      problems.push(`${label}: no audio level read from the audio-level extension ` +
                    `(sources: ${JSON.stringify(e.audioLevels)})`);
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

// ---- ICE restarts (cfg.iceRestart) ------------------------------------------------------

// Decoded video frames from `sender` in a receiver's samples: [{t, frames}].
function framesFrom(samples, tracks, sender) {
  const mids = Object.entries(tracks || {})
    .filter(([, tr]) => tr.participant_id === sender.participant_id && tr.kind === 'video')
    .map(([mid]) => mid);
  return samples.map((s) => ({ t: s.t, frames: Math.max(0, ...mids.map((m) => s.video[m] || 0)) }));
}

// The longest time without a newly decoded frame in [from, to] (ms).
function longestStall(series, from, to) {
  let last = null;
  let prevFrames = null;
  let worst = 0;
  for (const s of series) {
    if (s.t < from || s.t > to) continue;
    if (last === null || s.frames > prevFrames) {
      if (last !== null) worst = Math.max(worst, s.t - last);
      last = s.t;
    }
    prevFrames = s.frames;
  }
  if (last !== null) worst = Math.max(worst, to - last);
  return Math.round(worst);
}

// One restart: `who` restarts ICE on its `pc`; every receiver in `watch`
// ([{page, p}], decoding `sender`) must keep decoding. Returns the record
// for result.iceRestarts and pushes problems. (A 'failed' report is judged
// over the whole phase: see iceRestartPhase.)
async function iceRestartStep(step, problems) {
  const { who, pc, watch, sender } = step;
  const delay = step.signallingDelayMs || 0;
  const label = `${who.p.name} ${pc} ICE restart` +
                (delay ? ` (offer held back ${delay} ms)` : '');
  const pre = await who.page.evaluate(() => window.stats());
  const nStates = pre.gatewayStates.length;
  const trBefore = pre.transports[pc] || { objects: 0, dtlsStates: [], pairs: [] };
  for (const w of watch) await w.page.evaluate(() => window.vejSample(true));
  await sleep(500);   // a baseline before the restart
  let r;
  try {
    r = await who.page.evaluate(([which, ms]) =>
      (which === 'publish' ? window.vejRestartPublish({ signallingDelayMs: ms })
                           : window.vejRestartSubscribe()), [pc, delay]);
  } catch (e) {
    problems.push(`${label}: ${e.message || e}`);
    for (const w of watch) await w.page.evaluate(() => window.vejSample(false));
    return { label, error: String(e.message || e) };
  }
  // this side's credentials are the offer's on publish, the answer's on subscribe
  const [mine, mineBefore, gw, gwBefore] = pc === 'publish'
    ? [r.after.offer, r.before.offer, r.after.answer, r.before.answer]
    : [r.after.answer, r.before.answer, r.after.offer, r.before.offer];
  // wait for a pair of the new ICE generation on both sides (a browser may
  // first pair its new candidates with the gateway's old credentials), then
  // for 30 more frames
  let st = null;
  let newPair = null;
  const isNew = (x) => x.t >= r.t0 && x.localUfrag === mine.ufrag &&
                       (!x.remoteUfrag || x.remoteUfrag === gw.ufrag);
  for (const until = Date.now() + 10000; Date.now() < until;) {
    await sleep(200);
    st = await who.page.evaluate(() => window.stats());
    const pairs = (st.transports[pc] || { pairs: [] }).pairs;
    newPair = pairs.find(isNew) || null;
    if (!newPair) continue;
    let enough = true;
    for (const w of watch) {
      const series = await sampledFrom(w, { p: sender });
      const last = series[series.length - 1];
      if (!last || last.frames < framesAt(series, newPair.t) + 30) enough = false;
    }
    if (enough) break;
  }
  await sleep(300);
  const rec = { label, pc, who: who.p.name, signallingDelayMs: delay,
                revision: r.after.revision, before: r.before.revision,
                ufrags: { mineBefore: mineBefore.ufrag, mine: mine.ufrag,
                          gatewayBefore: gwBefore.ufrag, gateway: gw.ufrag },
                signallingMs: Math.round(r.t1 - r.t0),
                pairSwitchMs: newPair ? Math.round(newPair.t - r.t0) : null,
                newPair, receivers: [] };
  for (const w of watch) {
    const series = await sampledFrom(w, { p: sender });
    await w.page.evaluate(() => window.vejSample(false));
    const at0 = framesAt(series, r.t0);
    const end = series[series.length - 1] || { t: r.t0, frames: 0 };
    const onNewPair = newPair ? series.find((x) => x.t > newPair.t &&
                                                   x.frames > framesAt(series, newPair.t)) : null;
    rec.receivers.push({ name: w.p.name, from: sender.name, framesAtRestart: at0,
                         framesAtEnd: end.frames,
                         firstFrameOnNewPairMs: onNewPair ? Math.round(onNewPair.t - r.t0) : null,
                         longestStallMs: longestStall(series, r.t0 - 300, end.t) });
    if (end.frames < at0 + 30)
      problems.push(`${label}: ${w.p.name} decoded ${end.frames - at0} video frames from ` +
                    `${sender.name} after the restart (need 30)`);
    if (newPair && !onNewPair)
      problems.push(`${label}: ${w.p.name} decoded no frame from ${sender.name} once the new ` +
                    'pair was selected');
  }
  // credentials: new on both sides; DTLS untouched (fingerprint, role)
  const what = pc === 'publish' ? ['offer', 'answer'] : ['answer', 'offer'];
  if (!mine.ufrag || mine.ufrag === mineBefore.ufrag || mine.pwd === mineBefore.pwd)
    problems.push(`${label}: Chromium's ${what[0]} kept its ICE credentials ` +
                  `(${mineBefore.ufrag} -> ${mine.ufrag})`);
  if (!gw.ufrag || gw.ufrag === gwBefore.ufrag || gw.pwd === gwBefore.pwd)
    problems.push(`${label}: the gateway's ${what[1]} kept its ICE credentials ` +
                  `(${gwBefore.ufrag} -> ${gw.ufrag})`);
  if (gw.fingerprint !== gwBefore.fingerprint)
    problems.push(`${label}: the gateway's fingerprint changed: ${gwBefore.fingerprint} -> ` +
                  gw.fingerprint);
  if (gw.setup !== gwBefore.setup || mine.setup !== mineBefore.setup)
    problems.push(`${label}: a=setup changed (gateway ${gwBefore.setup} -> ${gw.setup}, ` +
                  `Chromium ${mineBefore.setup} -> ${mine.setup}): a new DTLS association`);
  if (pc === 'subscribe' && !(r.after.revision > r.before.revision))
    problems.push(`${label}: offer revision ${r.after.revision} after ${r.before.revision}`);
  st = await who.page.evaluate(() => window.stats());
  if (!newPair)
    problems.push(`${label}: no candidate pair of the new ICE generation (ufrags ${mine.ufrag}, ` +
                  `${gw.ufrag}) selected within 10 s; pairs ` +
                  JSON.stringify((st.transports[pc] || {}).pairs));
  // one DTLS association, untouched: no new handshake on either side
  const tr = st.transports[pc] || { objects: 0, dtlsStates: [] };
  const dtlsChanges = tr.dtlsStates.filter((x) => x.t >= r.t0);
  const srtp = (stats) => stats.transport[pc] && stats.transport[pc].srtpCipher;
  rec.dtls = { objects: tr.objects, changes: dtlsChanges,
               state: st.transport[pc] && st.transport[pc].dtlsState,
               srtpBefore: srtp(pre), srtp: srtp(st) };
  if (tr.objects !== 1 || trBefore.objects !== 1)
    problems.push(`${label}: the PC used ${tr.objects} RTCDtlsTransport objects (1 expected)`);
  if (dtlsChanges.length)
    problems.push(`${label}: the DTLS transport changed state during the restart: ` +
                  JSON.stringify(dtlsChanges));
  if (rec.dtls.state !== 'connected' || rec.dtls.srtp !== rec.dtls.srtpBefore)
    problems.push(`${label}: DTLS ${rec.dtls.state}, SRTP ${rec.dtls.srtpBefore} -> ${rec.dtls.srtp}`);
  // a 'connected' that does not end a 'failed' would be a new handshake
  rec.gatewayStates = st.gatewayStates.slice(nStates).filter((s) => s.pc === pc);
  const handshakes = rec.gatewayStates.filter((s, i) =>
    s.state === 'connected' && !(i > 0 && rec.gatewayStates[i - 1].state === 'failed'));
  if (handshakes.length)
    problems.push(`${label}: the gateway reported 'connected' anew (a new DTLS handshake?): ` +
                  JSON.stringify(rec.gatewayStates));
  const closed = rec.gatewayStates.filter((s) => s.state === 'closed');
  if (closed.length) problems.push(`${label}: the gateway reports ${JSON.stringify(closed)}`);
  say(`${label}: revision ${rec.before ?? '-'} -> ${rec.revision ?? '-'}, Chromium ufrag ` +
      `${mineBefore.ufrag} -> ${mine.ufrag}, gateway ufrag ${gwBefore.ufrag} -> ${gw.ufrag}; ` +
      `signalling ${rec.signallingMs} ms, new pair ` +
      `${newPair ? newPair.local + ' -> ' + newPair.remote : 'none'} after ${rec.pairSwitchMs} ms; ` +
      `DTLS transports ${tr.objects}, DTLS state changes ${dtlsChanges.length}; ` +
      rec.receivers.map((x) => `${x.name} <- ${x.from}: frames ${x.framesAtRestart} -> ` +
                               `${x.framesAtEnd}, first on the new pair after ` +
                               `${x.firstFrameOnNewPairMs} ms, longest stall ` +
                               `${x.longestStallMs} ms`).join('; '));
  if (step.settleMs) await sleep(Math.max(0, r.t1 + step.settleMs - Date.now()));
  return rec;
}

// Every 'failed' the gateway reported during the restarts must be followed
// by 'connected' on the same PC: a transient failure, recorded (and each
// one's media_failed alert to the clerk is then expected by
// test_chromium.py), not a dead PC.
async function transientFailures(pages, nStates, problems) {
  const out = [];
  const open = async () => {
    const list = [];
    for (const [i, w] of pages.entries()) {
      const news = (await w.page.evaluate(() => window.stats())).gatewayStates.slice(nStates[i]);
      for (const pc of ['publish', 'subscribe']) {
        const mine = news.filter((x) => x.pc === pc);
        mine.forEach((x, j) => {
          if (x.state !== 'failed') return;
          const back = mine.slice(j + 1).find((y) => y.state === 'connected');
          list.push({ who: w.p.name, participant_id: w.p.participant_id, pc, reason: x.reason,
                      backAfterMs: back ? back.t - x.t : null });
        });
      }
    }
    return list;
  };
  let list = await open();
  for (const until = Date.now() + 3000; list.some((x) => x.backAfterMs === null) &&
                                        Date.now() < until;) {
    await sleep(200);
    list = await open();
  }
  for (const x of list) {
    out.push(x);
    if (x.backAfterMs === null)
      problems.push(`ICE restarts: the gateway reported ${x.who}'s ${x.pc} PC failed (${x.reason}) ` +
                    'and never connected again');
    else
      say(`NOTE: ICE restarts: the gateway reported ${x.who}'s ${x.pc} PC failed (${x.reason}), ` +
          `connected again ${x.backAfterMs} ms later (a false media_failed alert to the clerk)`);
  }
  return out;
}

async function iceRestartPhase(pages, problems) {
  const [a, b] = pages;
  const nStates = [];
  for (const w of pages) {
    // failures are judged here (transientFailures), not as page errors
    await w.page.evaluate(() => { window.vej.expectFailures = true; });
    nStates.push((await w.page.evaluate(() => window.stats())).gatewayStates.length);
  }
  const steps = [
    // the judge's publish PC (gateway ICE-controlled, DTLS server): the
    // prosecution keeps decoding the judge
    { who: a, pc: 'publish', watch: [b], sender: a.p },
    // the prosecution's subscribe PC (gateway DTLS client: a=setup:passive)
    { who: b, pc: 'subscribe', watch: [b], sender: a.p },
    // the judge's subscribe PC (gateway DTLS server)
    { who: a, pc: 'subscribe', watch: [a], sender: b.p },
    // the judge's publish PC again, the offer held back 500 ms: the
    // browser's first checks of the new generation reach the gateway before
    // it (pairing the browser's new credentials with the gateway's old
    // ones), as on a slow network. Then libnice's idle timeout (5 s after
    // the restart, when no pair is nominated yet) is waited out.
    { who: a, pc: 'publish', watch: [b], sender: a.p, signallingDelayMs: 500, settleMs: 6500 },
  ];
  const out = [];
  for (const step of steps) out.push(await iceRestartStep(step, problems));
  const transients = await transientFailures(pages, nStates, problems);
  for (const w of pages) await w.page.evaluate(() => { window.vej.expectFailures = false; });
  return { steps: out, transientFailures: transients };
}

// ---- consent loss and recovery (cfg.consentRecovery) ------------------------------------

// The process group of the browser whose profile is `dir` (playwright starts
// each browser as a group leader; its helpers share the group), or null.
function browserGroup(dir) {
  const pgrp = (pid) => {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  };
  const mine = pgrp(process.pid);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'latin1').split('\0');
      if (!argv.includes(`--user-data-dir=${dir}`)) continue;
      const g = pgrp(name);
      if (g === Number(name) && g !== mine) return g;
    } catch (e) { /* gone */ }
  }
  return null;
}

const framesAt = (series, t) => (series.filter((x) => x.t <= t).pop() || { frames: 0 }).frames;

// rx's sampled video frames decoded from tx (vejSample): [{t, frames}].
async function sampledFrom(rx, tx) {
  const samples = await rx.page.evaluate(() => window.vejSamples());
  const tracks = (await rx.page.evaluate(() => window.stats())).tracks;
  return framesFrom(samples, tracks, tx.p);
}

// The second participant's browser is frozen (SIGSTOP of its process group)
// long enough for the gateway to lose consent on both of its PCs, then
// thawed: its page must read webrtc.state failed for both, nothing may flow
// on a PC the gateway reports failed, and ICE restarts (the publish offer,
// webrtc.restart_ice) must bring media back both ways, the gateway reporting
// both PCs connected again over the same DTLS associations.
async function consentRecoveryPhase(pages, cfg, problems) {
  const [a, b] = pages;
  const label = `${b.p.name}'s browser frozen`;
  const freezeMs = cfg.freezeMs || 13000;
  const rec = { label, freezeMs };
  await b.page.evaluate(() => { window.vej.expectFailures = true; });
  const pre = await b.page.evaluate(() => window.stats());
  const nStates = pre.gatewayStates.length;
  for (const w of [a, b]) await w.page.evaluate(() => window.vejSample(true));
  await sleep(300);
  const group = browserGroup(b.p.profileDir);
  if (!group) {
    problems.push(`${label}: no browser process for ${b.p.profileDir}`);
    return rec;
  }
  rec.tFreeze = Date.now();
  process.kill(-group, 'SIGSTOP');
  say(`${label}: SIGSTOP to process group ${group} for ${freezeMs} ms`);
  try {
    await sleep(freezeMs);
  } finally {
    process.kill(-group, 'SIGCONT');
  }
  rec.tThaw = Date.now();
  // what its socket held: the gateway's reports on both PCs
  let st = null;
  let failed = {};
  for (const until = Date.now() + 5000; Date.now() < until;) {
    st = await b.page.evaluate(() => window.stats());
    const news = st.gatewayStates.slice(nStates);
    failed = { publish: news.find((x) => x.pc === 'publish' && x.state === 'failed'),
               subscribe: news.find((x) => x.pc === 'subscribe' && x.state === 'failed') };
    if (failed.publish && failed.subscribe) break;
    await sleep(100);
  }
  rec.failed = failed;
  for (const pc of ['publish', 'subscribe']) {
    if (!failed[pc])
      problems.push(`${label}: no webrtc.state failed for the ${pc} PC after a ${freezeMs} ms ` +
                    `freeze: ${JSON.stringify(st.gatewayStates.slice(nStates))}`);
  }
  // A failed PC carries nothing until it is restarted, unless libnice
  // regained consent by itself and the gateway said so (webrtc.state
  // connected again: seen on the publish PC, where the browser's checks
  // nominate the pair again). What reached the thawed browser's socket
  // buffers before the loss is played out first: the window starts 1.5 s
  // after the thaw.
  await sleep(Math.max(0, rec.tThaw + 1500 - Date.now()));
  const decodedNow = async (rx, tx) => framesAt(await sampledFrom(rx, tx), Date.now());
  const q0 = [await decodedNow(a, b), await decodedNow(b, a)];
  await sleep(1500);
  const q1 = [await decodedNow(a, b), await decodedNow(b, a)];
  st = await b.page.evaluate(() => window.stats());
  const back = (pc) => {
    const news = st.gatewayStates.slice(nStates).filter((x) => x.pc === pc);
    const i = news.findIndex((x) => x.state === 'failed');
    return i >= 0 && news.slice(i).some((x) => x.state === 'connected');
  };
  rec.beforeRestart = {
    [`${a.p.name} <- ${b.p.name}`]: { frames: q1[0] - q0[0], pc: 'publish',
                                      back: back('publish') },
    [`${b.p.name} <- ${a.p.name}`]: { frames: q1[1] - q0[1], pc: 'subscribe',
                                      back: back('subscribe') },
  };
  for (const [dir, x] of Object.entries(rec.beforeRestart)) {
    if (x.frames > 0 && !x.back)
      problems.push(`${label}: ${dir}: ${x.frames} frames decoded over ${b.p.name}'s ${x.pc} PC ` +
                    'while the gateway reported it failed');
  }
  // the way back: ICE restarts of both PCs
  rec.restarts = {};
  for (const [pc, fn] of [['publish', () => window.vejRestartPublish()],
                          ['subscribe', () => window.vejRestartSubscribe()]]) {
    try {
      const r = await b.page.evaluate(fn);
      const mine = pc === 'publish' ? r.after.offer : r.after.answer;
      const gw = pc === 'publish' ? r.after.answer : r.after.offer;
      const gwBefore = pc === 'publish' ? r.before.answer : r.before.offer;
      rec.restarts[pc] = { t0: r.t0, signallingMs: Math.round(r.t1 - r.t0), ufrag: mine.ufrag,
                           gatewayUfrag: gw.ufrag };
      if (!gw.ufrag || gw.ufrag === gwBefore.ufrag)
        problems.push(`${label}: ${pc} restart: the gateway kept its ICE credentials`);
      if (gw.fingerprint !== gwBefore.fingerprint)
        problems.push(`${label}: ${pc} restart: the gateway's fingerprint changed`);
    } catch (e) {
      problems.push(`${label}: ${pc} ICE restart after the failure: ${e.message || e}`);
    }
  }
  const t0 = Math.min(...Object.values(rec.restarts).map((r) => r.t0), Date.now());
  // media back both ways (30 more frames each)
  const dirs = [[a, b], [b, a]];
  let done = false;
  for (const until = Date.now() + 10000; Date.now() < until && !done;) {
    await sleep(200);
    done = true;
    for (const [rx, tx] of dirs) {
      const series = await sampledFrom(rx, tx);
      const last = series[series.length - 1];
      if (!last || last.frames < framesAt(series, t0) + 30) done = false;
    }
  }
  rec.recovery = [];
  for (const [rx, tx] of dirs) {
    const series = await sampledFrom(rx, tx);
    const base = framesAt(series, t0);
    const first = series.find((x) => x.t > t0 && x.frames > base);
    const last = series[series.length - 1];
    const r = { rx: rx.p.name, tx: tx.p.name, frames: last ? last.frames - base : 0,
                firstFrameMs: first ? Math.round(first.t - t0) : null };
    rec.recovery.push(r);
    if (r.frames < 30)
      problems.push(`${label}: after the ICE restarts ${r.rx} decoded ${r.frames} video frames ` +
                    `from ${r.tx} (need 30)`);
  }
  for (const w of [a, b]) await w.page.evaluate(() => window.vejSample(false));
  // the gateway reports both PCs connected again, over the same DTLS associations
  st = await b.page.evaluate(() => window.stats());
  const after = st.gatewayStates.slice(nStates);
  rec.gatewayStates = after;
  rec.dtls = {};
  for (const pc of ['publish', 'subscribe']) {
    const iFail = after.findIndex((x) => x.pc === pc && x.state === 'failed');
    if (iFail >= 0 && !after.slice(iFail).some((x) => x.pc === pc && x.state === 'connected'))
      problems.push(`${label}: the gateway never reported the ${pc} PC connected again: ` +
                    JSON.stringify(after.filter((x) => x.pc === pc)));
    const tr = st.transports[pc] || { objects: 0, dtlsStates: [] };
    const changes = tr.dtlsStates.filter((x) => x.t >= rec.tFreeze);
    rec.dtls[pc] = { objects: tr.objects, changes,
                     state: st.transport[pc] && st.transport[pc].dtlsState };
    if (tr.objects !== 1 || changes.length || rec.dtls[pc].state !== 'connected')
      problems.push(`${label}: ${pc} DTLS: ${JSON.stringify(rec.dtls[pc])} (one association, ` +
                    'untouched, expected)');
  }
  const failedPcs = Object.keys(failed).filter((k) => failed[k]);
  say(`${label}: failed reported for ${failedPcs.join(', ') || 'nothing'} ` +
      `(${failed.subscribe ? failed.subscribe.reason : '-'}); before the restarts ` +
      `${JSON.stringify(rec.beforeRestart)}; restarts ${JSON.stringify(rec.restarts)}; ` +
      rec.recovery.map((r) => `${r.rx} <- ${r.tx}: ${r.frames} frames, the first ` +
                              `${r.firstFrameMs} ms after the restarts began`).join('; '));
  return rec;
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
  const extraContexts = [];   // cfg.consentRecovery: the second participant's own browser
  const closeAll = (ms) => Promise.race([
    Promise.all([context, ...extraContexts].filter(Boolean).map((c) => c.close().catch(() => {}))),
    sleep(ms)]);
  let rc = 2;
  const relays = new Map();
  const hardStop = setTimeout(async () => {
    say(`hard timeout: giving up after ${cfg.hardTimeoutMs || 120000} ms`);
    result.problems.push(`hard timeout (${cfg.hardTimeoutMs || 120000} ms)`);
    writeResult();
    await closeAll(3000);
    exit(1);
  }, cfg.hardTimeoutMs || 120000);
  try {
    server = await serve();
    const base = `http://127.0.0.1:${server.address().port}/page.html`;
    say(`page served at ${base}`);
    const args = chromiumArgs(cfg);
    const launch = (dir) => chromium.launchPersistentContext(dir, {
      executablePath: cfg.chromium || '/usr/bin/chromium',
      headless: true,
      args,
      timeout: 30000,
      viewport: { width: 800, height: 600 },
      env: process.env,
    });
    context = await launch(cfg.userDataDir);
    const browser = context.browser();
    result.chromium = browser ? browser.version() : null;
    say(`Chromium ${result.chromium || '?'} started (${args.join(' ')})`);

    const parts = cfg.participants.map((p) => Object.assign({ setup: 'active' }, p));
    const pages = [];
    for (const p of parts) {
      let page;
      p.profileDir = cfg.userDataDir;
      if (cfg.consentRecovery && pages.length === 1) {
        // a browser of its own, so that it alone can be frozen
        p.profileDir = cfg.userDataDir + '-' + pages.length;
        const ctx = await launch(p.profileDir);
        extraContexts.push(ctx);
        page = ctx.pages().length ? ctx.pages()[0] : await ctx.newPage();
      } else {
        page = pages.length === 0 && context.pages().length ? context.pages()[0]
                                                             : await context.newPage();
      }
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
      if (p.unsignalled) frag.set('nossrc', '1');
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

    // ---- ICE restarts, once media flows ----
    if (cfg.iceRestart) {
      if (result.msToDecode === null) {
        result.problems.push('ICE restarts not tried: media never flowed');
      } else {
        const phase = await iceRestartPhase(pages, result.problems);
        result.iceRestarts = phase.steps;
        result.iceRestartTransients = phase.transientFailures;
      }
    }
    if (cfg.consentRecovery && result.msToDecode !== null)
      result.consentRecovery = await consentRecoveryPhase(pages, cfg, result.problems);

    // ---- check and record ----
    snap = await Promise.all(pages.map(({ page }) => page.evaluate(() => window.stats())));
    for (const [i, { p, page }] of pages.entries()) {
      const others = parts.filter((o) => o !== p);
      const { problems, cipher } = checkParticipant(p, snap[i], others, cfg);
      problems.push(...checkExtensions(p, snap[i]));
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
                      unsignalled: !!p.unsignalled, decoded, sent, rtcp, cipher,
                      extensions: snap[i].extensions, stats: snap[i] };
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
    await closeAll(10000);
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
    for (const x of e.extensions || []) {
      if (x.pc === 'subscribe' && x.direction !== 'recvonly') continue;
      const ext = x.headerExtensions.map((h) => `${h.uri.replace(/^.*[/:]/, '')}=${h.id}`).join(' ');
      say(`${e.name} ${x.pc} mid ${x.mid} ${x.kind} header extensions: ${ext}` +
          (x.audioLevels ? `; audio levels read ${JSON.stringify(x.audioLevels)}` : '') +
          (x.pc === 'publish' && e.unsignalled ? ' (offered without a=ssrc)' : ''));
    }
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
