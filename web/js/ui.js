// ui.js - small DOM helpers shared by every screen.
//
// Invariants: text goes into the DOM only as text (textContent, never
// innerHTML), so nothing the server or a user typed is parsed as markup; no
// inline style attributes (the CSP forbids them).

// h('button', {class: 'x', onclick: fn, 'aria-label': 'y'}, 'text', child...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function show(el, on = true) {
  if (typeof el === 'string') el = $(el);
  if (el) el.hidden = !on;
}

// Says something to screen-reader users (and shows nothing).
export function announce(text) {
  const el = $('#announce');
  if (!el) return;
  el.textContent = '';
  setTimeout(() => { el.textContent = text; }, 30);
}

export function setText(sel, text) {
  const el = typeof sel === 'string' ? $(sel) : sel;
  if (el) el.textContent = text;
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  if (typeof el === 'string') el = $(el);
  el.replaceChildren();
  append(el, children);
  return el;
}

// One visible screen among the <section data-screen> of the page; focus
// moves to its heading so keyboard and screen-reader users follow.
export function screen(id) {
  for (const s of document.querySelectorAll('[data-screen]')) s.hidden = s.id !== id;
  const target = $('#' + id);
  const heading = target && target.querySelector('h1, h2');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}

export function notice(el, text, kind = 'error') {
  if (typeof el === 'string') el = $(el);
  if (!el) return;
  el.className = 'notice ' + kind;
  el.textContent = text;
  el.hidden = !text;
}

export const ROLE_LABELS = {
  judge: 'Judge', clerk: 'Clerk', defendant: 'Defendant', custody_officer: 'Custody officer',
  prosecution: 'Prosecution', defence: 'Defence advocate', witness: 'Witness',
  interpreter: 'Interpreter', probation: 'Probation', observer: 'Observer',
};

// Staff account roles (the console's header and account lists).
export const STAFF_LABELS = { clerk: 'Clerk', judge: 'Judge', evidential: 'Evidential staff', admin: 'Administrator' };

export const STATE_LABELS = {
  scheduled: 'Scheduled', open: 'Open (not in session)', in_session: 'In session',
  adjourned: 'Adjourned', closed: 'Closed',
};

export function roleLabel(role) {
  return ROLE_LABELS[role] || role || 'Participant';
}

// The name a tile or list shows: the court's name and role, or the role
// alone for someone shown to this viewer by role only.
export function partyName(p) {
  return p.display_name ? p.display_name + ' (' + roleLabel(p.role) + ')' : roleLabel(p.role);
}

export function placeLabel(place) {
  if (place === 'main') return 'Main courtroom';
  if (place === 'lobby') return 'Lobby';
  if (place && place.startsWith('consultation:')) return 'Consultation room "' + place.slice(13) + '"';
  return place || '';
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
