// The cipher of sensitive variable values, as a unit: round trips, fresh IVs, and refusal to open
// a value under another key, for another variable, or after tampering.
import assert from 'node:assert/strict';
import { DecryptionError, ValueCipher } from '../src/variables/encryption.js';

describe('sensitive value encryption', function () {
  const cipher = new ValueCipher('a test secret');

  it('opens what it sealed, for text of any shape', () => {
    for (const plaintext of ['', 'hunter2', 'multi\nline "quoted" \\ ${x} %{y}', 'ünïcødé ✓ 🦄', 'x'.repeat(256 * 1024)]) {
      const sealed = cipher.seal(plaintext, 'var-1');
      assert.equal(cipher.open(sealed, 'var-1'), plaintext);
    }
  });

  it('lays out a sealed value as version, 12-byte IV, 16-byte tag and ciphertext, without the plaintext', () => {
    const plaintext = 'correct horse battery staple';
    const sealed = cipher.seal(plaintext, 'var-1');
    assert.equal(sealed[0], 1);
    assert.equal(sealed.length, 1 + 12 + 16 + Buffer.byteLength(plaintext));
    assert.equal(sealed.includes(Buffer.from(plaintext)), false);
  });

  it('uses a fresh IV each time, so equal values do not look equal', () => {
    const a = cipher.seal('same', 'var-1');
    const b = cipher.seal('same', 'var-1');
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a.subarray(1, 13), b.subarray(1, 13));
  });

  it('derives the same key from the same secret (another process can decrypt)', () => {
    const sealed = cipher.seal('shared', 'var-1');
    assert.equal(new ValueCipher('a test secret').open(sealed, 'var-1'), 'shared');
  });

  it('refuses to open under a key derived from another secret', () => {
    const sealed = cipher.seal('hunter2', 'var-1');
    assert.throws(() => new ValueCipher('another secret').open(sealed, 'var-1'), DecryptionError);
  });

  it('refuses to open a value sealed for another variable', () => {
    const sealed = cipher.seal('hunter2', 'var-1');
    assert.throws(() => cipher.open(sealed, 'var-2'), DecryptionError);
  });

  it('refuses a tampered, truncated or unknown-format value', () => {
    const sealed = cipher.seal('hunter2', 'var-1');
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 1] ^= 1;
    assert.throws(() => cipher.open(flipped, 'var-1'), DecryptionError);
    assert.throws(() => cipher.open(sealed.subarray(0, 20), 'var-1'), DecryptionError);
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    assert.throws(() => cipher.open(otherVersion, 'var-1'), /not in a known format/);
  });

  it('says nothing of the plaintext when it fails', () => {
    const sealed = cipher.seal('hunter2', 'var-1');
    assert.throws(
      () => new ValueCipher('another secret').open(sealed, 'var-1'),
      (err: Error) => err instanceof DecryptionError && !err.message.includes('hunter2'),
    );
  });

  it('refuses an empty secret', () => {
    assert.throws(() => new ValueCipher(''), /must not be empty/);
  });
});
