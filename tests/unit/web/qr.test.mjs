// Unit tests of web/js/qr.js, the page's own QR encoder: every code it
// makes is decoded by an independent decoder (jsQR from npm, installed in
// tests/e2e/node_modules by ensure-deps.sh) and must give the text back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { qrMatrix, rsRemainder } from '../../../web/js/qr.js';

const require = createRequire(new URL('../../e2e/package.json', import.meta.url));
const jsQR = require('jsqr');

// RGBA pixels of the code with a 4-module quiet zone, `scale` pixels a module.
function pixels(m, scale = 4) {
  const dim = (m.size + 8) * scale;
  const data = new Uint8ClampedArray(dim * dim * 4).fill(255);
  for (let y = 0; y < m.size; y++) for (let x = 0; x < m.size; x++) {
    if (!m.get(x, y)) continue;
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
      const o = (((y + 4) * scale + dy) * dim + (x + 4) * scale + dx) * 4;
      data[o] = data[o + 1] = data[o + 2] = 0;
    }
  }
  return { data, dim };
}

function decode(text, mask = -1) {
  const m = qrMatrix(text, mask);
  const { data, dim } = pixels(m);
  const r = jsQR(data, dim, dim, { inversionAttempts: 'dontInvert' });
  return { m, text: r ? new TextDecoder().decode(Uint8Array.from(r.binaryData)) : null, version: r && r.version };
}

test('Reed-Solomon: the remainder of the standard\'s example (version 1-M, "01234567")', () => {
  const data = [0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11];
  assert.deepEqual(rsRemainder(data, 10), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
});

test('an otpauth URI decodes back, in the smallest version that holds it', () => {
  const uri = 'otpauth://totp/VEJ%20Gateway:clerk1?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=VEJ%20Gateway&digits=6&period=30';
  const r = decode(uri);
  assert.equal(r.text, uri);
  assert.equal(r.version, r.m.version);
  assert.equal(r.m.size, 17 + 4 * r.m.version);
});

test('every version 1 to 10 and every mask decode (lengths at each version\'s limit)', () => {
  const limits = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
  limits.forEach((n, i) => {
    const text = Array.from({ length: n }, (_, k) => String.fromCharCode(33 + ((k * 7 + i) % 90))).join('');
    for (let mask = 0; mask < 8; mask++) {
      const r = decode(text, mask);
      assert.equal(r.m.version, i + 1, `length ${n}`);
      assert.equal(r.text, text, `version ${i + 1} mask ${mask}`);
    }
    if (i < 9) assert.equal(qrMatrix(text + 'x').version, i + 2, 'one more byte: the next version');
    else assert.throws(() => qrMatrix(text + 'x'), RangeError);
  });
});

test('UTF-8 text and the empty string', () => {
  for (const t of ['', 'Cour d\'appel — salle 3 ✓', 'x']) assert.equal(decode(t).text, t);
});

test('more than version 10-M holds is a RangeError', () => {
  assert.throws(() => qrMatrix('a'.repeat(214)), RangeError);
});
