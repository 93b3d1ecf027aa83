import crypto from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A random identifier in Terraform Cloud's style: a prefix and 16 letters or digits, e.g. ws-4Fx9... */
export function newId(prefix: string, length = 16): string {
  const bytes = crypto.randomBytes(length * 2);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    // 62 * 4 = 248: reject 248..255 so every character is equally likely
    if (bytes[i] < 248) out += ALPHABET[bytes[i] % 62];
  }
  while (out.length < length) out += ALPHABET[crypto.randomInt(62)];
  return `${prefix}-${out}`;
}
