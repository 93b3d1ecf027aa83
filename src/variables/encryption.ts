// Encryption of sensitive variable values at rest: AES-256-GCM under a key derived from --secret
// with HKDF-SHA256. A sealed value is one byte of format version, the 12-byte IV, the 16-byte
// authentication tag and the ciphertext. The variable's id is bound in as additional data, so a
// sealed value copied onto another row does not open.
import crypto from 'node:crypto';

const FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;
const HKDF_SALT = 'otf-ts';
const HKDF_INFO = 'otf sensitive variables';

/** A sealed value that cannot be opened: wrong key (was --secret changed?), or damaged data. */
export class DecryptionError extends Error {}

export class ValueCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length === 0) throw new Error('the secret for sensitive variables must not be empty');
    this.key = Buffer.from(crypto.hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
  }

  /** Encrypts plaintext with a fresh random IV; `context` (the variable id) must be given again to open it. */
  seal(plaintext: string, context: string): Buffer {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), iv, cipher.getAuthTag(), ciphertext]);
  }

  /** Decrypts what seal() produced for the same context; DecryptionError when that fails. */
  open(sealed: Buffer, context: string): string {
    if (sealed.length < HEADER_BYTES || sealed[0] !== FORMAT_VERSION) {
      throw new DecryptionError('the sealed value is not in a known format');
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, HEADER_BYTES);
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(HEADER_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError('the sealed value does not authenticate under this key');
    }
  }
}
