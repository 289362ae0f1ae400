// media.js - the two PeerConnections of a participant (docs/protocol.md,
// "Media (webrtc.*)"): publish (this browser offers, webrtc.publish) and
// subscribe (the gateway offers with webrtc.offer, answered with
// webrtc.answer {sdp, revision}; media.tracks says which participant each
// m-line carries). Local candidates are trickled with webrtc.candidate once
// the gateway knows the description they belong to; the gateway's are in
// its SDP.
//
// Recovery: a PC whose ICE fails (or stays disconnected) is restarted
// (publish: restartIce and a new offer through webrtc.publish; subscribe:
// webrtc.restart_ice); one whose DTLS failed is replaced by a new
// PeerConnection. Events: 'tracks' (the participant -> tracks map changed),
// 'state' (detail: {publish, subscribe} connection states).
//
// Invariants: offers are answered one at a time in arrival order; an answer
// refused as stale (4009) is dropped (a newer offer is on its way); own
// camera/microphone toggles only set track.enabled (mute never
// renegotiates).

const RESTART_AFTER_DISCONNECTED_MS = 3000;

export class Media extends EventTarget {
  constructor(conn) {
    super();
    this.conn = conn;
    this.pcs = { publish: null, subscribe: null };
    this.ready = { publish: false, subscribe: false };
    this.queued = { publish: [], subscribe: [] };
    this.restarting = { publish: false, subscribe: false };
    this.timers = {};
    this.stream = null;
    this.mids = new Map(); // mid -> {participant_id, kind}
    this.nextTracks = null;
    this.chain = Promise.resolve();
    this.closed = false;
    conn.on('media.tracks', (p) => { this.nextTracks = Array.isArray(p.tracks) ? p.tracks : []; });
    conn.on('webrtc.offer', (p) => {
      if (p.pc !== 'subscribe') return;
      const tracks = this.nextTracks; // media.tracks comes just before its offer
      this.nextTracks = null;
      this.chain = this.chain.then(() => this.answer(p, tracks)).catch((e) => this.log('offer: ' + e.message));
    });
    conn.on('webrtc.state', (p) => { this.log('gateway ' + p.pc + ' ' + p.state + ' ' + (p.reason || '')); this.gatewayState(p); });
  }

  log(msg) { console.info('media: ' + msg); }

  config() {
    const servers = (this.conn.hello && this.conn.hello.ice_servers) || [];
    return { iceServers: servers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
  }

  everConnected(name) { return !!(this.pcs[name] && this.pcs[name].__vejConnected); }

  watch(name, pc) {
    pc.onicecandidate = (e) => {
      if (e.candidate && !e.candidate.candidate) return;
      const c = e.candidate;
      const params = c ? { pc: name, candidate: c.candidate, sdpMid: c.sdpMid,
                           sdpMLineIndex: c.sdpMLineIndex } : { pc: name, candidate: '' };
      if (c && c.usernameFragment) params.usernameFragment = c.usernameFragment;
      if (this.ready[name] && pc === this.pcs[name]) this.conn.notify('webrtc.candidate', params);
      else this.queued[name].push(params);
    };
    pc.onconnectionstatechange = () => {
      if (pc !== this.pcs[name]) return;
      this.emitState();
      const st = pc.connectionState;
      if (st === 'connected') pc.__vejConnected = true;
      clearTimeout(this.timers[name]);
      this.log(name + ' ' + st);
      if (st === 'failed') this.recover(name, 'ice');
      else if (st === 'disconnected')
        this.timers[name] = setTimeout(() => {
          if (pc === this.pcs[name] && pc.connectionState === 'disconnected') this.recover(name, 'ice');
        }, RESTART_AFTER_DISCONNECTED_MS);
    };
  }

  flush(name) {
    this.ready[name] = true;
    for (const c of this.queued[name].splice(0)) this.conn.notify('webrtc.candidate', c);
  }

  emitState() {
    const st = (pc) => (pc ? pc.connectionState : 'none');
    this.dispatchEvent(new CustomEvent('state', {
      detail: { publish: st(this.pcs.publish), subscribe: st(this.pcs.subscribe) } }));
  }

  // Publishes the tracks of `stream` (a new publish PC).
  async publish(stream) {
    this.stream = stream;
    if (this.pcs.publish) this.pcs.publish.close();
    const pc = new RTCPeerConnection(this.config());
    this.pcs.publish = pc;
    this.ready.publish = false;
    this.queued.publish = [];
    this.watch('publish', pc);
    for (const track of stream.getTracks())
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    await this.negotiatePublish(pc, {});
  }

  async negotiatePublish(pc, opts) {
    const offer = await pc.createOffer(opts);
    await pc.setLocalDescription(offer);
    const res = await this.conn.call('webrtc.publish', { sdp: pc.localDescription.sdp });
    if (pc !== this.pcs.publish) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: res.sdp });
    this.flush('publish');
  }

  // Replaces a camera or microphone track (device change) without a new offer.
  async replaceTrack(kind, track) {
    const pc = this.pcs.publish;
    if (!pc) return;
    for (const t of pc.getTransceivers())
      if (t.sender.track && t.sender.track.kind === kind) await t.sender.replaceTrack(track);
  }

  async subscribe() {
    this.log('subscribe');
    this.newSubscribePc();
    await this.conn.call('webrtc.subscribe', {});
  }

  newSubscribePc() {
    if (this.pcs.subscribe) this.pcs.subscribe.close();
    const pc = new RTCPeerConnection(this.config());
    this.pcs.subscribe = pc;
    this.ready.subscribe = false;
    this.queued.subscribe = [];
    this.watch('subscribe', pc);
    pc.ontrack = () => this.emitTracks();
    return pc;
  }

  async answer(p, tracks) {
    const pc = this.pcs.subscribe || this.newSubscribePc();
    this.log('offer revision ' + p.revision);
    await pc.setRemoteDescription({ type: 'offer', sdp: p.sdp });
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    if (tracks) {
      this.mids = new Map(tracks.map((t) => [t.mid, t]));
      this.emitTracks();
    }
    try {
      await this.conn.call('webrtc.answer', { sdp: pc.localDescription.sdp, revision: p.revision });
    } catch (e) {
      if (e.code !== 4009) throw e;
    }
    this.flush('subscribe');
  }

  // participant_id -> {audio, video} (MediaStreamTracks) from media.tracks.
  byParticipant() {
    const out = new Map();
    const pc = this.pcs.subscribe;
    if (!pc) return out;
    for (const t of pc.getTransceivers()) {
      const info = t.mid !== null && this.mids.get(t.mid);
      if (!info || !t.receiver.track) continue;
      const e = out.get(info.participant_id) || { audio: null, video: null, receivers: {} };
      e[info.kind] = t.receiver.track;
      e.receivers[info.kind] = t.receiver;
      out.set(info.participant_id, e);
    }
    return out;
  }

  emitTracks() {
    this.dispatchEvent(new CustomEvent('tracks', { detail: this.byParticipant() }));
  }

  // Audio level (0..1) of each participant heard since the last call: the
  // root mean square of its inbound audio's totalAudioEnergy over
  // totalSamplesDuration (one getStats of the subscribe PC), so that a
  // short sound between two calls counts; where the stats lack them (or on
  // the first call), the level the audio-level header extension of the
  // last packet carried.
  async levels() {
    const out = new Map();
    const heard = this.byParticipant();
    const pc = this.pcs.subscribe;
    if (!pc || !heard.size) return out;
    if (!this.energy) this.energy = new Map();
    const byTrack = new Map();
    for (const [pid, e] of heard) if (e.audio) byTrack.set(e.audio.id, pid);
    try {
      for (const st of (await pc.getStats()).values()) {
        if (st.type !== 'inbound-rtp' || st.kind !== 'audio') continue;
        const info = st.mid != null ? this.mids.get(st.mid) : null;
        const pid = info ? info.participant_id : byTrack.get(st.trackIdentifier);
        if (!pid || !heard.has(pid) || typeof st.totalAudioEnergy !== 'number' || !st.totalSamplesDuration) continue;
        const prev = this.energy.get(pid);
        this.energy.set(pid, { energy: st.totalAudioEnergy, duration: st.totalSamplesDuration });
        if (prev && st.totalSamplesDuration > prev.duration)
          out.set(pid, Math.sqrt(Math.max(0, st.totalAudioEnergy - prev.energy) / (st.totalSamplesDuration - prev.duration)));
      }
    } catch (err) {
      // the PeerConnection is closing: the header extension's levels only
    }
    for (const [pid, e] of heard) {
      const r = e.receivers.audio;
      if (out.has(pid) || !r || !r.getSynchronizationSources) continue;
      const src = r.getSynchronizationSources()[0];
      if (src && performance.timeOrigin + performance.now() - src.timestamp < 1000) out.set(pid, src.audioLevel || 0);
    }
    return out;
  }

  gatewayState(p) {
    // closed: the gateway got a DTLS close_notify (a PeerConnection of
    // this participant went away); only a new one brings media back
    if (p.state === 'closed') return this.recover(p.pc, 'dtls');
    if (p.state !== 'failed') return;
    const reason = String(p.reason || '').toLowerCase();
    this.recover(p.pc, /dtls|fingerprint|certificate/.test(reason) ? 'dtls' : 'ice');
  }

  // ICE restart, or a new PeerConnection after a DTLS failure.
  async recover(name, why) {
    if (this.closed || this.restarting[name] || !this.pcs[name]) return;
    if (this.conn.state !== 'open') return; // done again after the resume
    this.restarting[name] = true;
    // a PC of ours that never connected cannot be restarted: a new one
    if (['new', 'connecting'].includes(this.pcs[name].connectionState) && !this.everConnected(name)) why = 'dtls';
    try {
      if (name === 'publish') {
        if (why === 'dtls') await this.publish(this.stream);
        else {
          this.pcs.publish.restartIce();
          await this.negotiatePublish(this.pcs.publish, { iceRestart: true });
        }
      } else if (why === 'dtls') {
        await this.subscribe();
      } else {
        try {
          await this.conn.call('webrtc.restart_ice', { pc: 'subscribe' });
        } catch (e) {
          // the gateway holds no subscribe PC for us (it restarted): a new one
          if (e.code !== 4004) throw e;
          await this.subscribe();
        }
      }
    } catch (e) {
      this.log(name + ' recovery: ' + e.message);
    } finally {
      this.restarting[name] = false;
    }
  }

  // After the signalling came back: restart what is not connected.
  afterResume() {
    for (const name of ['publish', 'subscribe']) {
      const pc = this.pcs[name];
      if (pc && pc.connectionState !== 'connected') this.recover(name, pc.connectionState === 'new' ? 'dtls' : 'ice');
    }
  }

  // {level: good|fair|poor|offline, rttMs, lossPct} from getStats.
  async quality() {
    const pcs = [this.pcs.publish, this.pcs.subscribe].filter(Boolean);
    if (!pcs.length) return { level: 'offline' };
    if (pcs.some((pc) => pc.connectionState === 'failed' || pc.connectionState === 'disconnected'))
      return { level: 'offline' };
    let rtt = 0, lost = 0, got = 0, pathBytes = 0;
    for (const pc of pcs) {
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type === 'candidate-pair' && s.nominated) {
          if (s.currentRoundTripTime) rtt = Math.max(rtt, s.currentRoundTripTime * 1000);
          pathBytes += s.bytesReceived || 0;
        }
        if (s.type === 'inbound-rtp') {
          lost += s.packetsLost || 0;
          got += s.packetsReceived || 0;
        }
      });
    }
    // The gateway sends RTCP every second on every connected PC (and ICE
    // consent checks), media or not: nothing at all for 1.5 s is a cut.
    const now = performance.now();
    const last = this.lastPath;
    if (!last || last.bytes !== pathBytes) this.lastPath = { bytes: pathBytes, at: now };
    else if (now - last.at > 1500) return { level: 'offline', stalled: true };
    const loss = got + lost > 0 ? (100 * lost) / (got + lost) : 0;
    const level = rtt > 600 || loss > 8 ? 'poor' : rtt > 250 || loss > 2 ? 'fair' : 'good';
    return { level, rttMs: Math.round(rtt), lossPct: Math.round(loss * 10) / 10 };
  }

  close() {
    this.closed = true;
    for (const name of ['publish', 'subscribe']) {
      clearTimeout(this.timers[name]);
      if (this.pcs[name]) this.pcs[name].close();
      this.pcs[name] = null;
    }
  }
}
