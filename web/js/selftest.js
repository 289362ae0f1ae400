// selftest.js - the equipment self-test before joining: camera, microphone
// and speaker chosen from the devices present, camera preview, microphone
// level meter, a test tone on the chosen speaker, and a connection check
// that says plainly what is wrong.
//
// Invariants: nothing is sent to the gateway from here except the ICE
// gathering probe (which contacts only the STUN/TURN servers the gateway
// named); every track this screen opened is either handed on (Continue) or
// stopped.

import { $, fill, h, notice } from './ui.js';

export function mediaErrorText(e) {
  switch (e && e.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'The camera or microphone is blocked for this site. Allow them (the camera icon in the address bar), then press "Try again".';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera or microphone was found. Connect one, then press "Try again".';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera or microphone is in use by another program. Close it, then press "Try again".';
    default:
      return 'The camera or microphone could not be started (' + ((e && e.message) || e) + ').';
  }
}

export function constraints(dev) {
  return {
    audio: dev.mic ? { deviceId: { exact: dev.mic } } : true,
    video: Object.assign({ width: { ideal: 640 }, height: { ideal: 480 } },
                         dev.camera ? { deviceId: { exact: dev.camera } } : {}),
  };
}

// Opens camera and microphone; falls back to the microphone alone.
export async function openDevices(dev) {
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(constraints(dev)), cameraError: null };
  } catch (e) {
    const c = constraints(dev);
    const stream = await navigator.mediaDevices.getUserMedia({ audio: c.audio });
    return { stream, cameraError: e };
  }
}

// A level meter on `meter` fed by the audio track of `stream`; returns stop().
// A browser may keep the AudioContext suspended by its autoplay policy
// (Chromium until a click; Firefox ESR, which lets a page that captures
// the microphone start one, now and then keeps one made right after
// getUserMedia suspended): resume() is asked again every 500 ms while it
// is suspended, and on every click or key.
export function levelMeter(stream, meter) {
  const track = stream.getAudioTracks()[0];
  if (!track) return { stop: () => {}, peak: () => 0 };
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const an = ctx.createAnalyser();
  an.fftSize = 512;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  let peak = 0;
  // each call asks the browser again
  const resume = () => {
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  };
  let ticks = 0;
  document.addEventListener('pointerdown', resume, true);
  document.addEventListener('keydown', resume, true);
  const timer = setInterval(() => {
    if (++ticks % 5 === 0) resume();
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const rms = Math.min(1, Math.sqrt(sum / buf.length) * 4);
    peak = Math.max(peak, rms);
    meter.value = rms;
    meter.textContent = Math.round(rms * 100) + '%';
  }, 100);
  const stop = () => {
    clearInterval(timer);
    document.removeEventListener('pointerdown', resume, true);
    document.removeEventListener('keydown', resume, true);
    ctx.close();
  };
  return { stop, peak: () => peak };
}

// Plays a one-second 440 Hz tone on the speaker `sinkId`.
export async function testTone(sinkId) {
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  gain.gain.value = 0.2;
  const dest = ctx.createMediaStreamDestination();
  osc.connect(gain).connect(dest);
  const audio = new Audio();
  audio.srcObject = dest.stream;
  if (sinkId && audio.setSinkId) await audio.setSinkId(sinkId);
  osc.start();
  await audio.play();
  await new Promise((r) => setTimeout(r, 1000));
  osc.stop();
  audio.pause();
  await ctx.close();
}

// Can this network reach anything for media? Gathers candidates for 3 s.
async function iceProbe(iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  const kinds = new Set();
  pc.onicecandidate = (e) => { if (e.candidate && e.candidate.type) kinds.add(e.candidate.type); };
  pc.createDataChannel('probe');
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => {
    const t = setTimeout(r, 3000);
    pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') { clearTimeout(t); r(); } };
  });
  pc.close();
  return kinds;
}

function fillSelect(sel, devices, kind, chosen, fallback) {
  const list = devices.filter((d) => d.kind === kind);
  fill(sel, list.length ? list.map((d, i) => h('option', { value: d.deviceId, text: d.label || fallback + ' ' + (i + 1) }))
    : [h('option', { value: '', text: 'None found' })]);
  if (chosen && list.some((d) => d.deviceId === chosen)) sel.value = chosen;
  return list.length;
}

let current = null; // the running self-test's checks updater

// Updates the "Connection to the court" check of a running self-test;
// false when none is running.
export function selfTestServer(ok, text) {
  if (!current) return false;
  current(ok, text);
  return true;
}

// Runs the screen. opts: {hello (session.hello result or null), connError
// (text when the gateway could not be reached), saved ({camera, mic,
// speaker}), kiosk}. Resolves with {stream, devices} on Continue.
export function runSelfTest(opts) {
  return new Promise((resolve) => {
    const dev = Object.assign({ camera: '', mic: '', speaker: '' }, opts.saved || {});
    let stream = null;
    let meter = null;
    const preview = $('#st-preview');
    const checks = { camera: null, mic: null, server: null, network: null };
    const cont = $('#st-continue');
    let autoTimer = null;

    const renderChecks = () => {
      const rows = [
        ['camera', 'Camera'], ['mic', 'Microphone'], ['server', 'Connection to the court'],
        ['network', 'Network for video'],
      ];
      fill('#st-checks', rows.map(([k, label]) => {
        const c = checks[k];
        return h('li', { class: c ? (c.ok ? 'ok' : 'bad') : '' },
                 label + ': ' + (c ? c.text : 'checking…'));
      }));
      // observers never publish: they need no microphone
      const ready = ((checks.mic && checks.mic.ok) || opts.listenOnly) && checks.server && checks.server.ok;
      cont.disabled = !ready;
      if (ready && opts.kiosk && !autoTimer) autoTimer = setTimeout(() => cont.click(), 2000);
    };

    const stopAll = () => {
      if (meter) meter.stop();
      meter = null;
      if (stream) for (const t of stream.getTracks()) t.stop();
      stream = null;
    };

    const start = async () => {
      stopAll();
      notice('#st-error', '');
      checks.camera = checks.mic = null;
      renderChecks();
      try {
        const got = await openDevices(dev);
        stream = got.stream;
        checks.mic = { ok: true, text: 'working' };
        checks.camera = got.cameraError ? { ok: false, text: mediaErrorText(got.cameraError) }
          : { ok: true, text: 'working' };
        if (got.cameraError) notice('#st-error', mediaErrorText(got.cameraError) + ' You can still join with sound only.', 'warn');
      } catch (e) {
        checks.mic = { ok: false, text: mediaErrorText(e) };
        checks.camera = { ok: false, text: 'not started' };
        notice('#st-error', mediaErrorText(e));
        renderChecks();
        return;
      }
      preview.srcObject = stream;
      const v = stream.getVideoTracks()[0];
      const a = stream.getAudioTracks()[0];
      if (v) dev.camera = v.getSettings().deviceId || dev.camera;
      if (a) dev.mic = a.getSettings().deviceId || dev.mic;
      const devices = await navigator.mediaDevices.enumerateDevices();
      fillSelect($('#st-camera'), devices, 'videoinput', dev.camera, 'Camera');
      fillSelect($('#st-mic'), devices, 'audioinput', dev.mic, 'Microphone');
      const canSink = 'setSinkId' in HTMLMediaElement.prototype;
      const outs = canSink ? fillSelect($('#st-speaker'), devices, 'audiooutput', dev.speaker, 'Speaker') : 0;
      $('#st-speaker-box').hidden = !outs;
      $('#st-speaker-note').hidden = !!outs;
      if (outs) dev.speaker = $('#st-speaker').value;
      meter = levelMeter(stream, $('#st-level'));
      renderChecks();
    };

    $('#st-camera').onchange = (e) => { dev.camera = e.target.value; start(); };
    $('#st-mic').onchange = (e) => { dev.mic = e.target.value; start(); };
    $('#st-speaker').onchange = (e) => { dev.speaker = e.target.value; };
    $('#st-retry').onclick = () => start();
    $('#st-tone').onclick = async () => {
      try {
        await testTone(dev.speaker);
      } catch (e) {
        notice('#st-error', 'The test sound could not be played: ' + e.message);
      }
    };
    cont.onclick = () => {
      clearTimeout(autoTimer);
      if (meter) meter.stop();
      const s = stream;
      stream = null;
      current = null;
      resolve({ stream: s, devices: Object.assign({}, dev) });
    };

    current = (ok, text) => { checks.server = { ok, text }; renderChecks(); };
    checks.server = opts.hello ? { ok: true, text: 'connected' } : { ok: false, text: opts.connError || 'not connected' };
    renderChecks();
    iceProbe((opts.hello && opts.hello.ice_servers) || []).then((kinds) => {
      checks.network = kinds.size ? { ok: true, text: 'ready' }
        : { ok: false, text: 'this network may block video calls; if the court cannot see or hear you, try another network' };
      renderChecks();
    }).catch((e) => { checks.network = { ok: false, text: e.message }; renderChecks(); });
    start();
  });
}
