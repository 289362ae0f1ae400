// tiles.js - the video tiles of a hearing view: one per participant this
// viewer shares a place with (named as the server's roster names them),
// plus the viewer's own camera; audio of everyone heard plays through
// hidden <audio> elements on the chosen speaker; the tile of whoever
// speaks is highlighted (speaker.active when the gateway sends it, else the
// audio levels the relay passes on in the audio-level header extension).
//
// Invariants: a tile shows video only when media.tracks gave this viewer a
// video track of that participant (a screened participant's video never
// reaches those it is screened from, so their tile stays a name card);
// elements are kept per participant so re-renders do not restart playback.

import { h, partyName } from './ui.js';

export class Tiles {
  constructor(container, audioBox, roster, media) {
    this.el = container;
    this.audioBox = audioBox;
    this.roster = roster;
    this.media = media;
    this.tiles = new Map();
    this.audios = new Map();
    this.selfStream = null;
    this.sinkId = '';
    this.tracks = new Map();
    this.serverSpeaker = null;
    if (media) {
      media.addEventListener('tracks', (e) => { this.tracks = e.detail; this.render(); });
      // speaker.active, when the gateway sends it, wins over the levels
      media.conn.on('speaker.active', (p) => { this.serverSpeaker = { id: p.participant_id, at: Date.now() }; this.speaking(); });
      this.levelTimer = setInterval(() => this.speaking(), 300);
    }
  }

  setSelf(stream) { this.selfStream = stream; this.render(); }

  tile(id) {
    let t = this.tiles.get(id);
    if (!t) {
      const video = h('video', { autoplay: true, muted: true, playsInline: true });
      const novideo = h('div', { class: 'novideo' });
      const label = h('div', { class: 'label' });
      t = { root: h('div', { class: 'tile', role: 'listitem' }, video, novideo, label), video, novideo, label, track: null };
      this.tiles.set(id, t);
    }
    return t;
  }

  render() {
    const place = this.roster.place;
    const people = place && place !== 'lobby' ? this.roster.inPlace(place) : [];
    const keep = new Set();
    const order = [];
    const me = this.roster.self();
    if (me && this.selfStream) {
      const t = this.tile('self');
      t.root.classList.add('self');
      this.setVideo(t, this.selfStream.getVideoTracks()[0] || null, 'Your camera is off');
      t.label.textContent = 'You: ' + partyName(me);
      t.root.dataset.participant = me.participant_id;
      keep.add('self');
      order.push(t.root);
    }
    for (const p of people) {
      const id = p.participant_id;
      const t = this.tile(id);
      const media = this.tracks.get(id) || {};
      const video = media.video && !p.muted.video ? media.video : null;
      const why = p.role === 'observer' ? 'Observer (not on camera)'
        : p.muted && p.muted.video ? 'Camera turned off by the court'
        : p.audio_only ? 'Sound only' : media.audio && !media.video ? 'Sound only' : 'No video';
      this.setVideo(t, video, why);
      const flags = [];
      if (p.muted && p.muted.audio) flags.push('microphone off');
      t.label.textContent = partyName(p) + (flags.length ? ' - ' + flags.join(', ') : '');
      t.root.dataset.participant = id;
      t.root.dataset.role = p.role;
      t.root.setAttribute('aria-label', t.label.textContent + (video ? '' : ', ' + why));
      keep.add(id);
      order.push(t.root);
    }
    for (const [id, t] of this.tiles) if (!keep.has(id)) { t.video.srcObject = null; this.tiles.delete(id); }
    // moving a playing <video> pauses it: the DOM changes only when the order does
    const same = order.length === this.el.children.length && order.every((n, i) => this.el.children[i] === n);
    if (!same) {
      this.el.replaceChildren(...order);
      for (const t of this.tiles.values()) if (t.track) t.video.play().catch(() => {});
    }
    this.renderAudio();
  }

  setVideo(t, track, why) {
    if (t.track !== track) {
      t.track = track;
      t.video.srcObject = track ? new MediaStream([track]) : null;
      if (track) t.video.play().catch(() => {});
    }
    t.video.hidden = !track;
    t.novideo.hidden = !!track;
    t.novideo.textContent = track ? '' : why;
    t.root.dataset.video = track ? 'yes' : 'no';
  }

  renderAudio() {
    const keep = new Set();
    for (const [id, m] of this.tracks) {
      if (!m.audio) continue;
      keep.add(id);
      let a = this.audios.get(id);
      if (!a) {
        a = h('audio', { autoplay: true });
        a.dataset.participant = id;
        this.audios.set(id, a);
        this.audioBox.append(a);
      }
      if (!a.srcObject || a.srcObject.getAudioTracks()[0] !== m.audio) {
        a.srcObject = new MediaStream([m.audio]);
        if (this.sinkId && a.setSinkId) a.setSinkId(this.sinkId).catch(() => {});
        a.play().catch(() => {});
      }
    }
    for (const [id, a] of this.audios) if (!keep.has(id)) { a.srcObject = null; a.remove(); this.audios.delete(id); }
  }

  setSink(id) {
    this.sinkId = id || '';
    for (const a of this.audios.values()) if (a.setSinkId && this.sinkId) a.setSinkId(this.sinkId).catch(() => {});
  }

  async speaking() {
    if (!this.media || this.measuring) return;
    this.measuring = true;
    try {
      let loud = null, max = 0.02;
      if (this.serverSpeaker && Date.now() - this.serverSpeaker.at < 3000) loud = this.serverSpeaker.id;
      else for (const [id, l] of await this.media.levels()) if (l > max) { max = l; loud = id; }
      for (const [id, t] of this.tiles) t.root.classList.toggle('speaking', id === loud);
    } finally {
      this.measuring = false;
    }
  }

  destroy() { clearInterval(this.levelTimer); }
}
