// VEJ Gateway interop test page: one hearing participant in a browser.
//
// Joins through the gateway's real signalling (JSON-RPC 2.0 over wss, see
// PROTOCOL.md): session.hello {token}, hearing.join {}, then publishes the
// camera and microphone on the publish PeerConnection (the browser offers:
// webrtc.publish) and subscribes (the gateway offers: webrtc.subscribe, then
// webrtc.offer {pc: 'subscribe', sdp, revision} answered with webrtc.answer
// {sdp, revision}; re-offers arrive as new webrtc.offer with a higher
// revision). The browser's candidates are trickled with webrtc.candidate;
// the gateway's candidates are inline in its SDP.
//
// Start: page.html#ws=<wss url>&t=<join token>[&name=<label>][&setup=passive]
// or window.vejStart({ws, token, name, setup}). setup=passive munges the
// subscribe answer to a=setup:passive (the browser becomes the DTLS server
// on the subscribe PC; by default Chromium answers active). Both PCs use
// bundlePolicy max-bundle and rtcpMuxPolicy require (bundle=balanced in the
// fragment changes the subscribe PC's, for diagnosis).
//
// loss=1 in the fragment (or {loss: true}): every packet to and from the
// gateway goes through a UDP relay of the test runner (window.vejLossProxy,
// exposed by run_chromium.mjs) that drops some video packets: the gateway's
// candidates in its SDP are replaced by the relay's, and the page trickles
// none of its own (the gateway learns the relay's address as a
// peer-reflexive candidate), so no direct path bypasses the relay.
//
// nossrc=1 in the fragment (or {unsignalled: true}): the publish offers sent
// to the gateway lose their a=ssrc and a=ssrc-group lines (the browser's own
// description keeps them), as a client with unsignalled SSRCs sends them:
// the gateway must map the packets to tracks by the mid header extension.
//
// window.stats() resolves to a plain object (see collectStats): inbound-rtp
// per track with the publishing participant (from media.tracks), outbound-rtp,
// the DTLS/SRTP transport of each PC (and the history of its RTCDtlsTransport:
// objects, DTLS and ICE state changes, selected pairs with their ufrag), the
// gateway's webrtc.state reports and every error seen; per transceiver the
// header extensions negotiated (getParameters().headerExtensions) and, for
// received audio, the RFC 6464 audio level of its synchronization source.
//
// ICE restarts (run_chromium.mjs, iceRestart): window.vejRestartPublish()
// (pc.restartIce() and the new offer through webrtc.publish on the same PC)
// and window.vejRestartSubscribe() (webrtc.restart_ice, then the gateway's
// re-offer answered) resolve to the ICE credentials, fingerprint and setup
// of both sides before and after; window.vejSample(true|false) records the
// subscribe PC's decoded video frames every 100 ms (window.vejSamples()).
'use strict';

(function () {
  const RPC_TIMEOUT_MS = 10000;
  const t0 = performance.now();

  const vej = {
    name: '',
    started: false,
    phase: 'idle',
    hello: null,
    participantId: null,
    hearingId: null,
    place: null,
    setup: 'active',
    tracks: {},          // mid -> {participant_id, kind} (latest media.tracks)
    trackLists: [],      // every media.tracks received: {t, tracks}
    offers: [],          // {t, revision, mlines}
    answers: [],         // {t, revision, ok, error?}
    gatewayStates: [],   // webrtc.state: {t, pc, state, reason}
    notes: [],           // methods of every notification, in order
    errors: [],
    candidateRefusals: [],   // TCP candidates the gateway refused (see watchPc)
    log: [],
    ws: null,
    pcs: { publish: null, subscribe: null },
    stream: null,
    offerSdp: {},        // revision -> the gateway's subscribe offer
    answerSdp: {},       // revision -> the answer sent for it
    transports: {},      // pc name -> DTLS/ICE transport history (see trackTransport)
    samples: [],         // {t, video: {mid: framesDecoded}} while sampling (vejSample)
    expectFailures: false,   // set by the runner when it makes PCs fail on purpose
  };
  window.vej = vej;

  function now() { return Math.round(performance.now() - t0); }

  function log(msg) {
    const line = '[' + now() + ' ms] ' + (vej.name ? vej.name + ': ' : '') + msg;
    vej.log.push(line);
    if (vej.log.length > 500) vej.log.splice(0, vej.log.length - 500);
    console.log(line);
    const el = document.getElementById('log');
    if (el) el.textContent += line + '\n';
  }

  function error(msg) {
    vej.errors.push('[' + now() + ' ms] ' + msg);
    console.error((vej.name ? vej.name + ': ' : '') + msg);
    log('ERROR ' + msg);
  }

  window.addEventListener('error', (e) => error('page error: ' + e.message));
  window.addEventListener('unhandledrejection', (e) =>
    error('unhandled rejection: ' + (e.reason && e.reason.stack || e.reason)));

  // ---- JSON-RPC over WebSocket ----------------------------------------------

  let nextId = 1;
  const pending = new Map();   // id -> {resolve, reject, method, timer}

  function connect(url) {
    return new Promise((resolve, reject) => {
      let opened = false;
      const ws = new WebSocket(url);
      vej.ws = ws;
      ws.onopen = () => { opened = true; log('socket open'); resolve(); };
      ws.onerror = () => { if (!opened) reject(new Error('WebSocket to ' + url + ' failed')); };
      ws.onclose = (e) => {
        const msg = 'socket closed: code ' + e.code + (e.reason ? ' (' + e.reason + ')' : '');
        if (vej.phase === 'closing') log(msg); else error(msg);
        for (const [, p] of pending) {
          clearTimeout(p.timer);
          p.reject(new Error(p.method + ': ' + msg));
        }
        pending.clear();
        if (!opened) reject(new Error(msg));
      };
      ws.onmessage = (e) => onMessage(e.data);
    });
  }

  function send(obj) {
    if (!vej.ws || vej.ws.readyState !== WebSocket.OPEN)
      throw new Error('socket not open for ' + (obj.method || 'reply'));
    vej.ws.send(JSON.stringify(obj));
  }

  function call(method, params) {
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(method + ': no reply within ' + RPC_TIMEOUT_MS + ' ms'));
      }, RPC_TIMEOUT_MS);
      pending.set(id, { resolve, reject, method, timer });
      try {
        send({ jsonrpc: '2.0', id, method, params: params || {} });
      } catch (e) {
        clearTimeout(timer);
        pending.delete(id);
        reject(e);
      }
    });
  }

  function onMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      error('unparsable message from the gateway: ' + String(text).slice(0, 200));
      return;
    }
    if (msg && msg.jsonrpc === '2.0' && typeof msg.method === 'string' && !('id' in msg)) {
      vej.notes.push(msg.method);
      onNote(msg.method, msg.params || {});
      return;
    }
    if (msg && 'id' in msg && pending.has(msg.id)) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if ('error' in msg) {
        const err = new Error(p.method + ' -> error ' + JSON.stringify(msg.error));
        err.rpc = msg.error;
        p.reject(err);
      } else {
        p.resolve(msg.result);
      }
      return;
    }
    error('unexpected message from the gateway: ' + String(text).slice(0, 300));
  }

  // ---- notifications ------------------------------------------------------------

  function onNote(method, params) {
    switch (method) {
      case 'media.tracks': {
        const list = Array.isArray(params.tracks) ? params.tracks : [];
        vej.trackLists.push({ t: now(), tracks: list });
        const map = {};
        for (const tr of list) map[tr.mid] = { participant_id: tr.participant_id, kind: tr.kind };
        vej.tracks = map;
        log('media.tracks ' + JSON.stringify(list));
        break;
      }
      case 'webrtc.offer':
        if (params.pc !== 'subscribe') {
          error('webrtc.offer for pc ' + JSON.stringify(params.pc));
          break;
        }
        enqueueOffer(params);
        break;
      case 'webrtc.state':
        vej.gatewayStates.push({ t: now(), pc: params.pc, state: params.state, reason: params.reason });
        log('webrtc.state ' + params.pc + ' ' + params.state + ' ' + (params.reason || ''));
        if ((params.state === 'failed' || params.state === 'closed') && !vej.expectFailures)
          error('gateway reports ' + params.pc + ' ' + params.state + ': ' + params.reason);
        break;
      case 'webrtc.candidate':
        // PROTOCOL allows it; this gateway keeps its candidates in its SDP.
        log('webrtc.candidate from the gateway ' + JSON.stringify(params));
        addGatewayCandidate(params);
        break;
      case 'participant.admitted':
        if (params.participant && params.participant.participant_id === vej.participantId) {
          setPlace('main');
        }
        log('participant.admitted ' + (params.participant && params.participant.participant_id));
        break;
      case 'participant.moved':
        if (params.participant && params.participant.participant_id === vej.participantId)
          setPlace(params.place);
        break;
      case 'session.closing':
        log('session.closing ' + JSON.stringify(params));
        break;
      default:
        log('note ' + method);
    }
  }

  function setPlace(place) {
    vej.place = place;
    const el = document.getElementById('place');
    if (el) el.textContent = place;
    log('place ' + place);
  }

  async function addGatewayCandidate(p) {
    const pc = vej.pcs[p.pc];
    if (!pc || !p.candidate) return;
    try {
      let candidate = p.candidate;
      if (vej.loss) candidate = await viaRelay(p.pc, 'a=' + candidate, p.pc === 'publish' ? 'up' : 'down');
      await pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), sdpMid: p.sdpMid || '0',
                                 sdpMLineIndex: p.sdpMLineIndex || 0 });
    } catch (e) {
      error('addIceCandidate(' + p.pc + '): ' + e);
    }
  }

  // ---- loss relay (loss=1) --------------------------------------------------------

  // The first payload type of every video m-line: the codec, never RTX.
  function videoPts(sdp) {
    const pts = [];
    for (const m of sdp.matchAll(/^m=video \d+ \S+ (\d+)/gm)) pts.push(Number(m[1]));
    return pts;
  }

  // Rewrites the gateway's UDP candidates of `pc` to the relay's ports. dir:
  // which way video is dropped ('up': from this page, 'down': to it).
  async function viaRelay(pc, sdp, dir) {
    const pts = videoPts(sdp);
    const re = /^(a=candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$/gim;
    const found = [...sdp.matchAll(re)];
    let out = sdp;
    for (const m of found) {
      const port = await window.vejLossProxy(vej.name + ':' + pc, m[2], Number(m[3]), dir, pts);
      out = out.replace(m[0], m[1] + '127.0.0.1 ' + port + m[4]);
    }
    if (!found.length && pts.length)   // a re-offer: new m-lines, same relay
      await window.vejLossProxy(vej.name + ':' + pc, null, 0, dir, pts);
    return out;
  }

  // ---- PeerConnections ---------------------------------------------------------

  // The offer as the gateway gets it (see nossrc above).
  function forGateway(sdp) {
    if (!vej.unsignalled) return sdp;
    return sdp.replace(/^a=ssrc(-group)?:[^\r\n]*\r?\n/gm, '');
  }

  function pcConfig(bundlePolicy) {
    const servers = vej.hello && Array.isArray(vej.hello.ice_servers) ? vej.hello.ice_servers : [];
    return { iceServers: servers, bundlePolicy: bundlePolicy || 'max-bundle', rtcpMuxPolicy: 'require' };
  }

  // Local candidates go out once the description they belong to is known to
  // the gateway (after the publish answer / after webrtc.answer is sent).
  function watchPc(name, pc) {
    const queue = [];
    let ready = false;
    const sendCand = (c) => {
      if (vej.loss) return;   // only the relay's path: see the header
      const params = c
        ? { pc: name, candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }
        : { pc: name, candidate: '' };
      if (c && c.usernameFragment) params.usernameFragment = c.usernameFragment;
      call('webrtc.candidate', params).catch((e) => {
        if (vej.phase === 'closing') return;
        const what = 'webrtc.candidate ' + name + ' ' + (c ? c.candidate : '(end)') + ': ' + e.message;
        // A TCP candidate refused while the gateway has ice-tcp off is
        // recorded, not counted as an error: Chromium gathers TCP candidates
        // whenever ICE takes longer than its first gathering step.
        if (c && / tcp /i.test(c.candidate) && e.rpc && e.rpc.code === -32602) {
          vej.candidateRefusals.push(what);
          log(what);
        } else {
          error(what);
        }
      });
    };
    pc.onicecandidate = (e) => {
      if (e.candidate && !e.candidate.candidate) return;   // Chromium's per-m-line end marker
      if (ready) sendCand(e.candidate); else queue.push(e.candidate);
    };
    pc.onconnectionstatechange = () => {
      log(name + ' connectionState ' + pc.connectionState);
      if (pc.connectionState === 'failed' && !vej.expectFailures) error(name + ' PeerConnection failed');
    };
    pc.oniceconnectionstatechange = () => log(name + ' iceConnectionState ' + pc.iceConnectionState);
    pc.onicecandidateerror = (e) => log(name + ' icecandidateerror ' + e.errorCode + ' ' + e.errorText);
    return () => {
      if (ready) return;
      ready = true;
      for (const c of queue.splice(0)) sendCand(c);
    };
  }

  async function publish(stream) {
    const pc = new RTCPeerConnection(pcConfig());
    vej.pcs.publish = pc;
    const release = watchPc('publish', pc);
    for (const track of stream.getTracks())
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    vej.publishOffer = pc.localDescription.sdp;
    log('webrtc.publish (offer ' + offer.sdp.length + ' bytes)');
    const res = await call('webrtc.publish', { sdp: forGateway(pc.localDescription.sdp) });
    if (!res || typeof res.sdp !== 'string') throw new Error('webrtc.publish: no sdp in ' + JSON.stringify(res));
    vej.publishAnswer = res.sdp;
    const answer = vej.loss ? await viaRelay('publish', res.sdp, 'up') : res.sdp;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    log('publish answer applied');
    trackTransport('publish', pc);
    release();
  }

  let offerChain = Promise.resolve();
  let releaseSub = null;

  function enqueueOffer(params) {
    offerChain = offerChain.then(() => answerOffer(params)).catch((e) => error('subscribe offer rev ' +
      params.revision + ': ' + (e && e.message || e)));
  }

  function ensureSubscribePc() {
    if (vej.pcs.subscribe) return vej.pcs.subscribe;
    const pc = new RTCPeerConnection(pcConfig(vej.subscribeBundlePolicy));
    vej.pcs.subscribe = pc;
    releaseSub = watchPc('subscribe', pc);
    pc.ontrack = (e) => {
      const mid = e.transceiver && e.transceiver.mid;
      log('ontrack mid ' + mid + ' ' + e.track.kind);
      const el = document.createElement(e.track.kind === 'video' ? 'video' : 'audio');
      el.autoplay = true;
      el.muted = true;
      el.playsInline = true;
      el.dataset.mid = mid;
      el.srcObject = new MediaStream([e.track]);
      document.getElementById('remote').appendChild(el);
      el.play().catch(() => {});
    };
    return pc;
  }

  async function answerOffer(params) {
    const pc = ensureSubscribePc();
    const mlines = (params.sdp.match(/^m=/gm) || []).length;
    vej.offers.push({ t: now(), revision: params.revision, mlines });
    log('webrtc.offer revision ' + params.revision + ' (' + mlines + ' m-lines)');
    vej.lastOffer = params.sdp;
    vej.offerSdp[params.revision] = params.sdp;
    const offer = vej.loss ? await viaRelay('subscribe', params.sdp, 'down') : params.sdp;
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
    const answer = await pc.createAnswer();
    let sdp = answer.sdp;
    if (vej.setup === 'passive') sdp = sdp.replace(/^a=setup:active\r?$/gm, 'a=setup:passive');
    await pc.setLocalDescription({ type: 'answer', sdp });
    vej.lastAnswer = pc.localDescription.sdp;
    vej.answerSdp[params.revision] = vej.lastAnswer;
    trackTransport('subscribe', pc);
    try {
      await call('webrtc.answer', { sdp: pc.localDescription.sdp, revision: params.revision });
      vej.answers.push({ t: now(), revision: params.revision, ok: true });
    } catch (e) {
      vej.answers.push({ t: now(), revision: params.revision, ok: false, error: e.message });
      // a stale revision (4009) is expected when a newer offer is on its way
      if (!(e.rpc && e.rpc.code === 4009)) throw e;
      log('webrtc.answer revision ' + params.revision + ' stale: ' + e.message);
    }
    releaseSub();
  }

  // ---- start -----------------------------------------------------------------------

  async function start(opts) {
    if (vej.started) throw new Error('already started');
    vej.started = true;
    vej.name = opts.name || '';
    vej.setup = opts.setup === 'passive' ? 'passive' : 'active';
    vej.loss = !!opts.loss;
    vej.unsignalled = !!opts.unsignalled;
    if (vej.loss && typeof window.vejLossProxy !== 'function')
      throw new Error('loss=1 needs window.vejLossProxy (run_chromium.mjs with "loss")');
    // diagnostics only: the subscribe PC's bundlePolicy (default max-bundle)
    vej.subscribeBundlePolicy = opts.subscribeBundlePolicy || 'max-bundle';
    document.getElementById('who').textContent = vej.name;
    try {
      vej.phase = 'connecting';
      await connect(opts.ws);
      vej.phase = 'hello';
      vej.hello = await call('session.hello', { token: opts.token });
      const ident = vej.hello.identity || {};
      vej.participantId = ident.participant_id || null;
      vej.hearingId = ident.hearing_id || null;
      log('hello: ' + vej.participantId + ' role ' + ident.role);
      vej.phase = 'join';
      const joined = await call('hearing.join', {});
      setPlace(joined.place);
      vej.phase = 'media';
      vej.stream = await navigator.mediaDevices.getUserMedia({
        audio: true,
        video: { width: 320, height: 240, frameRate: 30 },
      });
      const local = document.createElement('video');
      local.muted = true;
      local.autoplay = true;
      local.srcObject = vej.stream;
      document.getElementById('local').appendChild(local);
      vej.phase = 'publish';
      await publish(vej.stream);
      vej.phase = 'subscribe';
      await call('webrtc.subscribe', {});
      vej.phase = 'running';
      log('subscribed');
    } catch (e) {
      error('start failed in phase ' + vej.phase + ': ' + (e && e.message || e));
      vej.phase = 'failed';
    }
  }

  function stop() {
    vej.phase = 'closing';
    for (const k of ['publish', 'subscribe']) if (vej.pcs[k]) vej.pcs[k].close();
    if (vej.stream) for (const t of vej.stream.getTracks()) t.stop();
    if (vej.ws) vej.ws.close(1000, 'test done');
  }

  // ---- transports and ICE restarts (run_chromium.mjs "iceRestart") -------------------

  // Wall-clock milliseconds with sub-millisecond resolution: comparable
  // across pages and with the Node runner's Date.now().
  const wallNow = () => performance.timeOrigin + performance.now();

  function sdpTransport(sdp) {
    const get = (re) => { const m = re.exec(sdp || ''); return m ? m[1].trim() : null; };
    return { ufrag: get(/^a=ice-ufrag:(\S+)/m), pwd: get(/^a=ice-pwd:(\S+)/m),
             fingerprint: get(/^a=fingerprint:([^\r\n]+)/m), setup: get(/^a=setup:(\S+)/m) };
  }

  // Every RTCDtlsTransport a PC has used (with max-bundle: one, for its whole
  // life, through ICE restarts), its DTLS and ICE state changes and every
  // change of the selected candidate pair (with the ICE generation's ufrag).
  const transportObjects = { publish: [], subscribe: [] };

  function trackTransport(name, pc) {
    const rec = vej.transports[name] ||
      (vej.transports[name] = { objects: 0, dtlsStates: [], iceStates: [], pairs: [] });
    for (const t of pc.getTransceivers()) {
      const tr = t.receiver.transport || t.sender.transport;
      if (!tr || transportObjects[name].includes(tr)) continue;
      transportObjects[name].push(tr);
      rec.objects = transportObjects[name].length;
      rec.dtlsStates.push({ t: wallNow(), state: tr.state, initial: true });
      tr.addEventListener('statechange', () => {
        rec.dtlsStates.push({ t: wallNow(), state: tr.state });
        log(name + ' DTLS transport ' + tr.state);
      });
      const ice = tr.iceTransport;
      if (!ice) continue;
      const pair = () => {
        const p = ice.getSelectedCandidatePair && ice.getSelectedCandidatePair();
        if (!p) return;
        rec.pairs.push({ t: wallNow(), localUfrag: p.local.usernameFragment,
                         remoteUfrag: p.remote.usernameFragment,
                         local: p.local.address + ':' + p.local.port,
                         remote: p.remote.address + ':' + p.remote.port });
        log(name + ' selected pair ' + p.local.address + ':' + p.local.port + ' -> ' +
            p.remote.address + ':' + p.remote.port + ' (ufrag ' + p.local.usernameFragment + ')');
      };
      pair();
      rec.iceStates.push({ t: wallNow(), state: ice.state, initial: true });
      ice.addEventListener('statechange', () => rec.iceStates.push({ t: wallNow(), state: ice.state }));
      ice.addEventListener('selectedcandidatepairchange', pair);
    }
  }

  // Publish PC: pc.restartIce(), then the new offer (new ufrag and pwd)
  // through webrtc.publish on the same PC, as PROTOCOL.md says.
  // opts.signallingDelayMs holds the offer back, as a slow signalling path
  // would, while the browser's first checks already reach the gateway.
  async function restartPublish(opts) {
    const pc = vej.pcs.publish;
    if (!pc) throw new Error('no publish PC');
    const before = { offer: sdpTransport(vej.publishOffer), answer: sdpTransport(vej.publishAnswer) };
    const t0 = wallNow();
    pc.restartIce();
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const sdp = pc.localDescription.sdp;
    const delay = (opts && opts.signallingDelayMs) || 0;
    if (delay) await new Promise((r) => setTimeout(r, delay));
    log('webrtc.publish: ICE-restart offer' + (delay ? ' (held back ' + delay + ' ms)' : ''));
    const res = await call('webrtc.publish', { sdp: forGateway(sdp) });
    if (!res || typeof res.sdp !== 'string') throw new Error('webrtc.publish: no sdp in ' + JSON.stringify(res));
    await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
    vej.publishOffer = sdp;
    vej.publishAnswer = res.sdp;
    trackTransport('publish', pc);
    return { pc: 'publish', t0, t1: wallNow(), before,
             after: { offer: sdpTransport(sdp), answer: sdpTransport(res.sdp) } };
  }

  // Subscribe PC: webrtc.restart_ice; the gateway's next webrtc.offer (a
  // higher revision) carries new credentials and is answered as usual.
  async function restartSubscribe() {
    if (!vej.pcs.subscribe) throw new Error('no subscribe PC');
    const revBefore = Math.max(0, ...vej.answers.filter((a) => a.ok).map((a) => a.revision));
    const before = { offer: sdpTransport(vej.offerSdp[revBefore]),
                     answer: sdpTransport(vej.answerSdp[revBefore]), revision: revBefore };
    const t0 = wallNow();
    await call('webrtc.restart_ice', { pc: 'subscribe' });
    const tReply = wallNow();
    const until = Date.now() + 10000;
    let ans = null;
    while (!ans && Date.now() < until) {
      ans = vej.answers.find((a) => a.revision > revBefore && a.ok);
      if (!ans) await new Promise((r) => setTimeout(r, 10));
    }
    if (!ans) throw new Error('no offer answered within 10 s of webrtc.restart_ice');
    return { pc: 'subscribe', t0, tReply, t1: wallNow(), before,
             after: { offer: sdpTransport(vej.offerSdp[ans.revision]),
                      answer: sdpTransport(vej.answerSdp[ans.revision]), revision: ans.revision } };
  }

  // Samples the subscribe PC's decoded video frames every 100 ms (on) until
  // called with false; vej.samples is emptied when sampling starts.
  let sampler = null;
  function sample(on) {
    if (sampler) clearInterval(sampler);
    sampler = null;
    if (!on) return;
    vej.samples = [];
    sampler = setInterval(async () => {
      const pc = vej.pcs.subscribe;
      if (!pc) return;
      const row = { t: wallNow(), video: {} };
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') row.video[s.mid] = s.framesDecoded || 0;
      });
      vej.samples.push(row);
    }, 100);
  }

  // ---- stats -----------------------------------------------------------------------

  function pick(o, keys) {
    const out = {};
    for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
    return out;
  }

  async function pcStats(name, pc) {
    const out = {
      connectionState: pc.connectionState,
      iceConnectionState: pc.iceConnectionState,
      signalingState: pc.signalingState,
      transport: null,
      inbound: [],
      outbound: [],
      remote: [],       // RTCP from the gateway: RRs (publish), SRs (subscribe)
    };
    const report = await pc.getStats();
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    report.forEach((s) => {
      if (s.type === 'transport') {
        const t = pick(s, ['dtlsState', 'srtpCipher', 'dtlsCipher', 'dtlsRole', 'tlsVersion',
                           'iceRole', 'iceState', 'selectedCandidatePairChanges',
                           'iceLocalUsernameFragment',
                           'bytesSent', 'bytesReceived', 'packetsSent', 'packetsReceived']);
        const pair = s.selectedCandidatePairId && byId.get(s.selectedCandidatePairId);
        if (pair) {
          const l = byId.get(pair.localCandidateId) || {};
          const r = byId.get(pair.remoteCandidateId) || {};
          t.selectedPair = {
            state: pair.state,
            local: l.address + ':' + l.port + '/' + l.protocol + ' ' + l.candidateType,
            remote: r.address + ':' + r.port + '/' + r.protocol + ' ' + r.candidateType,
            localUfrag: l.usernameFragment,
            currentRoundTripTime: pair.currentRoundTripTime,
          };
        }
        out.transport = t;
      } else if (s.type === 'inbound-rtp') {
        const codec = s.codecId && byId.get(s.codecId);
        const mid = s.mid;
        const tr = (mid !== undefined && vej.tracks[mid]) || {};
        out.inbound.push(Object.assign({
          pc: name,
          mid,
          participant_id: tr.participant_id || null,
          codec: codec ? codec.mimeType : null,
        }, pick(s, ['kind', 'ssrc', 'packetsReceived', 'packetsLost', 'bytesReceived',
                    'framesDecoded', 'framesReceived', 'framesDropped', 'keyFramesDecoded',
                    'frameWidth', 'frameHeight', 'framesPerSecond', 'decoderImplementation',
                    'totalSamplesReceived', 'concealedSamples', 'jitter', 'pliCount',
                    'firCount', 'nackCount', 'retransmittedPacketsReceived',
                    'retransmittedBytesReceived', 'freezeCount', 'totalFreezesDuration'])));
      } else if (s.type === 'outbound-rtp') {
        const codec = s.codecId && byId.get(s.codecId);
        out.outbound.push(Object.assign({
          pc: name,
          codec: codec ? codec.mimeType : null,
        }, pick(s, ['kind', 'mid', 'ssrc', 'packetsSent', 'bytesSent', 'framesEncoded',
                    'framesSent', 'keyFramesEncoded', 'frameWidth', 'frameHeight',
                    'encoderImplementation', 'qualityLimitationReason', 'pliCount',
                    'firCount', 'nackCount', 'retransmittedPacketsSent',
                    'retransmittedBytesSent'])));
      } else if (s.type === 'remote-inbound-rtp' || s.type === 'remote-outbound-rtp') {
        out.remote.push(Object.assign({ pc: name, type: s.type },
          pick(s, ['kind', 'ssrc', 'packetsLost', 'fractionLost', 'roundTripTime',
                   'roundTripTimeMeasurements', 'packetsSent', 'reportsSent', 'jitter'])));
      }
    });
    out.extensions = [];
    for (const t of pc.getTransceivers()) {
      if (t.mid === null || t.stopped) continue;
      const side = name === 'publish' ? t.sender : t.receiver;
      const params = side.getParameters();
      const e = {
        pc: name, mid: t.mid, kind: t.receiver.track.kind, direction: t.currentDirection,
        headerExtensions: (params.headerExtensions || []).map((h) => ({ uri: h.uri, id: h.id })),
      };
      if (name === 'subscribe' && e.kind === 'audio') {
        const src = t.receiver.getSynchronizationSources();
        e.audioLevels = src.map((x) => x.audioLevel);
      }
      out.extensions.push(e);
    }
    return out;
  }

  async function collectStats() {
    const out = {
      name: vej.name,
      phase: vej.phase,
      participant_id: vej.participantId,
      hearing_id: vej.hearingId,
      place: vej.place,
      setup: vej.setup,
      tracks: vej.tracks,
      trackLists: vej.trackLists.length,
      offers: vej.offers,
      answers: vej.answers,
      gatewayStates: vej.gatewayStates,
      notes: vej.notes.slice(-40),
      pcs: {},
      transport: {},
      inbound: [],
      outbound: [],
      remote: [],
      extensions: [],
      errors: vej.errors.slice(),
      candidateRefusals: vej.candidateRefusals.slice(),
      transports: vej.transports,
    };
    for (const name of ['publish', 'subscribe']) {
      const pc = vej.pcs[name];
      if (!pc) continue;
      try {
        const s = await pcStats(name, pc);
        out.pcs[name] = pick(s, ['connectionState', 'iceConnectionState', 'signalingState']);
        out.transport[name] = s.transport;
        out.inbound.push(...s.inbound);
        out.outbound.push(...s.outbound);
        out.remote.push(...s.remote);
        out.extensions.push(...s.extensions);
      } catch (e) {
        out.errors.push('getStats(' + name + '): ' + e);
      }
    }
    return out;
  }

  window.stats = collectStats;
  window.vejStart = start;
  window.vejStop = stop;
  window.vejLog = () => vej.log.slice();
  window.vejRestartPublish = restartPublish;
  window.vejRestartSubscribe = restartSubscribe;
  window.vejSample = sample;
  window.vejSamples = () => vej.samples.slice();
  window.vejSdp = () => ({
    publishOffer: vej.publishOffer, publishAnswer: vej.publishAnswer,
    lastOffer: vej.lastOffer, lastAnswer: vej.lastAnswer,
  });

  // page.html#ws=...&t=...&name=...&setup=passive starts at once.
  const frag = new URLSearchParams(location.hash.replace(/^#/, ''));
  if (frag.get('ws') && frag.get('t')) {
    // the join token leaves the address bar (as the real join page should)
    history.replaceState(null, '', location.pathname + location.search);
    start({ ws: frag.get('ws'), token: frag.get('t'), name: frag.get('name') || '',
            setup: frag.get('setup') || 'active', loss: frag.get('loss') === '1',
            unsignalled: frag.get('nossrc') === '1',
            subscribeBundlePolicy: frag.get('bundle') || undefined });
  }
})();
