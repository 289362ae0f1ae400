// qr.js - a small QR code encoder (ISO/IEC 18004) made in the page, so
// that nothing (an enrolment secret above all) goes to another host: byte
// mode, error-correction level M, versions 1 to 10 (up to 213 bytes, enough
// for an otpauth:// URI), the mask chosen by the standard's penalty rules.
//
//   qrMatrix(text) -> {size, get(x, y)}  (true = dark module)
//   qrSvg(document, text, {scale, label}) -> an <svg> element (DOM only, no markup strings)
//
// Invariants: pure functions of the text; throws RangeError for more bytes
// than version 10-M holds; the matrix excludes the quiet zone (qrSvg adds
// four modules of it).

// [data codewords per block..., ec codewords per block] for level M, versions 1..10
const BLOCKS = [null,
  [[16], 10], [[28], 16], [[44], 26], [[32, 32], 18], [[43, 43], 24],
  [[27, 27, 27, 27], 16], [[31, 31, 31, 31], 18], [[38, 38, 39, 39], 22],
  [[36, 36, 36, 37, 37], 22], [[43, 43, 43, 43, 44], 26]];
const ALIGN = [null, [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34],
  [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50]];
const EC_M = 0; // format bits of level M

// ---- GF(256), polynomial 0x11d ----
const EXP = new Uint8Array(512), LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  EXP[i] = x;
  LOG[x] = i;
  x <<= 1;
  if (x & 256) x ^= 0x11d;
}
for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
const mul = (a, b) => (a && b ? EXP[LOG[a] + LOG[b]] : 0);

function rsGenerator(n) {
  let g = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(g.length + 1).fill(0);
    for (let j = 0; j < g.length; j++) {
      next[j] ^= g[j];
      next[j + 1] ^= mul(g[j], EXP[i]);
    }
    g = next;
  }
  return g;
}

export function rsRemainder(data, n) {
  const g = rsGenerator(n);
  const r = new Array(n).fill(0);
  for (const b of data) {
    const f = b ^ r.shift();
    r.push(0);
    for (let i = 0; i < n; i++) r[i] ^= mul(g[i + 1], f);
  }
  return r;
}

// ---- the bit stream ----

function codewords(bytes, version) {
  const [blocks, ecLen] = BLOCKS[version];
  const capacity = blocks.reduce((a, b) => a + b, 0);
  const bits = [];
  const put = (v, n) => { for (let i = n - 1; i >= 0; i--) bits.push((v >>> i) & 1); };
  put(0b0100, 4);
  put(bytes.length, version < 10 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  put(0, Math.min(4, capacity * 8 - bits.length));
  while (bits.length % 8) bits.push(0);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) data.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; data.length < capacity; pad ^= 0xec ^ 0x11) data.push(pad);
  // split into blocks, add each block's EC, interleave
  const ds = [], es = [];
  let at = 0;
  for (const n of blocks) {
    const d = data.slice(at, at + n);
    at += n;
    ds.push(d);
    es.push(rsRemainder(d, ecLen));
  }
  const out = [];
  for (let i = 0; i < Math.max(...blocks); i++) for (const d of ds) if (i < d.length) out.push(d[i]);
  for (let i = 0; i < ecLen; i++) for (const e of es) out.push(e[i]);
  return out;
}

// ---- the matrix ----

function bch(value, poly, polyBits) {
  let v = value << (polyBits - 1);
  for (let i = 31 - Math.clz32(v); i >= polyBits - 1; i--) if ((v >>> i) & 1) v ^= poly << (i - polyBits + 1);
  return (value << (polyBits - 1)) | v;
}

class Grid {
  constructor(size) {
    this.size = size;
    this.dark = new Uint8Array(size * size);
    this.fixed = new Uint8Array(size * size);
  }
  set(x, y, dark, fixed = true) {
    this.dark[y * this.size + x] = dark ? 1 : 0;
    if (fixed) this.fixed[y * this.size + x] = 1;
  }
  get(x, y) { return this.dark[y * this.size + x] === 1; }
  isFixed(x, y) { return this.fixed[y * this.size + x] === 1; }
}

function finder(g, cx, cy) {
  for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
    const x = cx + dx, y = cy + dy;
    if (x < 0 || y < 0 || x >= g.size || y >= g.size) continue;
    const d = Math.max(Math.abs(dx), Math.abs(dy));
    g.set(x, y, d !== 2 && d !== 4);
  }
}

function functionPatterns(g, version) {
  const n = g.size;
  finder(g, 3, 3);
  finder(g, n - 4, 3);
  finder(g, 3, n - 4);
  for (let i = 8; i < n - 8; i++) { g.set(i, 6, i % 2 === 0); g.set(6, i, i % 2 === 0); }
  const pos = ALIGN[version];
  for (const ay of pos) for (const ax of pos) {
    if ((ax === 6 && ay === 6) || (ax === 6 && ay === n - 7) || (ax === n - 7 && ay === 6)) continue;
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++)
      g.set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
  }
  formatBits(g, 0); // reserve (real bits written after masking)
  g.set(8, n - 8, true); // the dark module
  if (version >= 7) {
    const v = bch(version, 0x1f25, 13);
    for (let i = 0; i < 18; i++) {
      const bit = (v >>> i) & 1, a = n - 11 + (i % 3), b = Math.floor(i / 3);
      g.set(a, b, bit);
      g.set(b, a, bit);
    }
  }
}

function formatBits(g, mask) {
  const n = g.size;
  const v = bch((EC_M << 3) | mask, 0x537, 11) ^ 0x5412;
  const bit = (i) => (v >>> i) & 1;
  for (let i = 0; i <= 5; i++) g.set(8, i, bit(i));
  g.set(8, 7, bit(6));
  g.set(8, 8, bit(7));
  g.set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) g.set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) g.set(n - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) g.set(8, n - 15 + i, bit(i));
  g.set(8, n - 8, true);
}

function placeData(g, cws) {
  const n = g.size;
  let i = 0;
  const total = cws.length * 8;
  for (let right = n - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < n; vert++) for (let j = 0; j < 2; j++) {
      const x = right - j;
      const upward = ((right + 1) & 2) === 0;
      const y = upward ? n - 1 - vert : vert;
      if (g.isFixed(x, y)) continue;
      const dark = i < total ? (cws[i >>> 3] >>> (7 - (i & 7))) & 1 : 0;
      g.set(x, y, dark, false);
      i++;
    }
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0, (x, y) => y % 2 === 0, (x) => x % 3 === 0, (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0, (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0, (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0];

function applyMask(g, m) {
  for (let y = 0; y < g.size; y++) for (let x = 0; x < g.size; x++)
    if (!g.isFixed(x, y) && MASKS[m](x, y)) g.dark[y * g.size + x] ^= 1;
}

function penalty(g) {
  const n = g.size;
  let p = 0, darkCount = 0;
  const line = (get) => {
    let run = 1, prev = get(0);
    const seq = [prev];
    for (let i = 1; i < n; i++) {
      const c = get(i);
      seq.push(c);
      if (c === prev) { run++; if (run === 5) p += 3; else if (run > 5) p += 1; } else { run = 1; prev = c; }
    }
    // 1:1:3:1:1 finder-like runs with four light modules on one side
    const pat = [1, 0, 1, 1, 1, 0, 1];
    for (let i = 0; i + 7 <= n; i++) {
      if (!pat.every((b, k) => seq[i + k] === b)) continue;
      const before = i >= 4 && [1, 2, 3, 4].every((k) => seq[i - k] === 0);
      const after = i + 11 <= n && [0, 1, 2, 3].every((k) => seq[i + 7 + k] === 0);
      if (before || after) p += 40;
    }
  };
  for (let y = 0; y < n; y++) line((x) => g.dark[y * n + x]);
  for (let x = 0; x < n; x++) line((y) => g.dark[y * n + x]);
  for (let y = 0; y < n - 1; y++) for (let x = 0; x < n - 1; x++) {
    const c = g.dark[y * n + x];
    if (c === g.dark[y * n + x + 1] && c === g.dark[(y + 1) * n + x] && c === g.dark[(y + 1) * n + x + 1]) p += 3;
  }
  for (const d of g.dark) darkCount += d;
  p += Math.floor(Math.abs(darkCount * 20 - n * n * 10) / (n * n)) * 10;
  return p;
}

export function qrMatrix(text, forceMask = -1) {
  const bytes = new TextEncoder().encode(text);
  let version = 1;
  const fits = (v) => {
    const cap = BLOCKS[v][0].reduce((a, b) => a + b, 0) * 8;
    return 4 + (v < 10 ? 8 : 16) + bytes.length * 8 <= cap;
  };
  while (version <= 10 && !fits(version)) version++;
  if (version > 10) throw new RangeError('qr: ' + bytes.length + ' bytes is more than a version 10-M code holds');
  const size = 17 + 4 * version;
  const cws = codewords(bytes, version);
  let best = null, bestPenalty = Infinity;
  for (let m = 0; m < 8; m++) {
    if (forceMask >= 0 && m !== forceMask) continue;
    const g = new Grid(size);
    functionPatterns(g, version);
    placeData(g, cws);
    applyMask(g, m);
    formatBits(g, m);
    const p = penalty(g);
    if (p < bestPenalty) { best = g; bestPenalty = p; }
  }
  return { size, version, get: (x, y) => best.get(x, y) };
}

export function qrSvg(doc, text, { scale = 4, label = 'QR code' } = {}) {
  const m = qrMatrix(text);
  const NS = 'http://www.w3.org/2000/svg';
  const q = 4, dim = m.size + 2 * q;
  const svg = doc.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + dim + ' ' + dim);
  svg.setAttribute('width', String(dim * scale));
  svg.setAttribute('height', String(dim * scale));
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('shape-rendering', 'crispEdges');
  const bg = doc.createElementNS(NS, 'rect');
  for (const [k, v] of [['width', dim], ['height', dim], ['fill', '#ffffff']]) bg.setAttribute(k, String(v));
  svg.append(bg);
  let d = '';
  for (let y = 0; y < m.size; y++) for (let x = 0; x < m.size; x++)
    if (m.get(x, y)) d += 'M' + (x + q) + ' ' + (y + q) + 'h1v1h-1z';
  const path = doc.createElementNS(NS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000000');
  svg.append(path);
  return svg;
}
