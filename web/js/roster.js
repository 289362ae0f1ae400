// roster.js - one hearing as this receiver is allowed to see it, kept up to
// date from hearing.join and the notifications of docs/protocol.md
// ("Notifications", "Visibility: who is told what").
//
// Invariants: a `participants` list (hearing.join, the subject's
// participant.admitted / participant.moved) replaces the whole view; every
// other notification changes one entry; pseudonymous (anon_) entries are
// kept under their pseudonym. Listeners get 'change' after each update.

export class Roster extends EventTarget {
  constructor(conn) {
    super();
    this.hearing = null;
    this.me = null; // own participant id
    this.place = null;
    this.people = new Map();
    this.alerts = [];
    const on = (m, fn) => conn.on(m, (p) => { fn(p); this.changed(m, p); });
    on('hearing.state', (p) => { if (this.hearing) this.hearing.state = p.state; });
    on('lobby.waiting', (p) => this.put(p.participant));
    on('participant.joined', (p) => this.put(p.participant));
    on('participant.left', (p) => this.people.delete(p.participant_id));
    on('participant.admitted', (p) => this.update(p));
    on('participant.moved', (p) => this.update(p));
    on('participant.updated', (p) => this.put(p.participant));
    on('participant.muted', (p) => {
      const e = this.people.get(p.participant_id);
      if (e) e.muted = Object.assign({}, e.muted, { [p.kind]: !!p.muted });
    });
    on('alert', (p) => { this.alerts.unshift(Object.assign({ at: new Date() }, p)); });
  }

  changed(method, params) {
    this.dispatchEvent(new CustomEvent('change', { detail: { method, params } }));
  }

  // From a hearing.join result.
  load(res) {
    this.hearing = res.hearing;
    this.me = res.participant_id;
    this.replace(res.participants || []);
    this.changed('hearing.join', res);
  }

  replace(list) {
    this.people = new Map(list.map((p) => [p.participant_id, p]));
    const me = this.people.get(this.me);
    if (me) this.place = me.place;
  }

  put(p) {
    if (!p || !p.participant_id) return;
    this.people.set(p.participant_id, p);
    if (p.participant_id === this.me) this.place = p.place;
  }

  update(p) {
    if (Array.isArray(p.participants)) this.replace(p.participants);
    if (p.participant) {
      const q = Object.assign({}, p.participant);
      if (p.place) q.place = p.place;
      this.put(q);
    }
  }

  self() { return this.people.get(this.me) || null; }

  // Everyone but me in `place`, in roster order.
  inPlace(place) {
    return [...this.people.values()].filter((p) => p.participant_id !== this.me && p.place === place);
  }

  lobby() { return [...this.people.values()].filter((p) => p.place === 'lobby'); }
}
