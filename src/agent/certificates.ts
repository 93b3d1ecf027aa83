// Certificate errors of otfd's TLS, told the way an operator can act on them: which server, which
// certificate (its subject and issuer), what is wrong with it, and what fixes it. Retrying cannot
// help with any of them, so the agent stops at once instead.
import net from 'node:net';
import tls from 'node:tls';

type Kind = 'untrusted' | 'name' | 'time';

const CODES: Record<string, Kind> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'untrusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'untrusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted',
  CERT_UNTRUSTED: 'untrusted',
  CERT_REJECTED: 'untrusted',
  CERT_SIGNATURE_FAILURE: 'untrusted',
  INVALID_CA: 'untrusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'name',
  CERT_HAS_EXPIRED: 'time',
  CERT_NOT_YET_VALID: 'time',
};

export interface CertificateError {
  code: string;
  kind: Kind;
  message: string;
}

/** The certificate error behind err (it may be the cause of a wrapping error), if it is one. */
export function certificateError(err: unknown): CertificateError | null {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code && code in CODES) return { code, kind: CODES[code], message: e.message };
  }
  return null;
}

interface Peer {
  subject: string;
  issuer: string;
  names: string;
  validTo: string;
  fingerprint: string;
}

function distinguishedName(name: tls.Certificate | undefined): string {
  if (!name) return '?';
  const parts = Object.entries(name).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`);
  return parts.length ? parts.join(', ') : '(empty)';
}

/**
 * The certificate the server presents, read over a connection that does not verify it (and sends
 * nothing): only to describe it. Null when it cannot be read within `timeoutMs` or the agent stops.
 */
export function peerCertificate(address: string, signal: AbortSignal, timeoutMs = 2000): Promise<Peer | null> {
  const url = new URL(address);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      servername: net.isIP(url.hostname.replace(/^\[|\]$/g, '')) ? undefined : url.hostname,
      rejectUnauthorized: false,
    });
    const done = (peer: Peer | null) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve(peer);
    };
    const onAbort = () => done(null);
    const timer = setTimeout(() => done(null), timeoutMs);
    signal.addEventListener('abort', onAbort);
    socket.once('error', () => done(null));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.subject) return done(null);
      done({
        subject: distinguishedName(cert.subject),
        issuer: distinguishedName(cert.issuer),
        names: cert.subjectaltname ?? '',
        validTo: cert.valid_to,
        fingerprint: cert.fingerprint256,
      });
    });
  });
}

/** One line: what is wrong with the certificate of the server at `address`, and the remedy. */
export function describeCertificateError(address: string, problem: CertificateError, peer: Peer | null, extraCaFile: string | undefined): string {
  const which = peer
    ? `its certificate (subject "${peer.subject}", issuer "${peer.issuer}"${peer.names ? `, names ${peer.names}` : ''}, SHA-256 ${peer.fingerprint})`
    : 'its certificate';
  const host = new URL(address).hostname;
  const what = `the TLS certificate of ${address} was refused (${problem.code}: ${problem.message})`;
  switch (problem.kind) {
    case 'untrusted': {
      const already = extraCaFile ? `; NODE_EXTRA_CA_CERTS=${extraCaFile} is set but does not hold it` : '';
      return (
        `${what}: ${which} is not signed by a certificate authority this agent trusts${already}. ` +
        'If this is your otfd, start otf-agent with NODE_EXTRA_CA_CERTS=<file>, a PEM file holding the certificate of the authority that signed it ' +
        '(for a self-signed certificate, the certificate itself)'
      );
    }
    case 'name':
      return (
        `${what}: ${which} is not valid for the host "${host}". ` +
        'Give --address a host name the certificate lists, or have the certificate reissued for this one; ' +
        'an authority given with NODE_EXTRA_CA_CERTS=<file> is trusted only for the names its certificates list'
      );
    case 'time':
      return `${what}: ${which}${peer ? ` is valid until ${peer.validTo}` : ''} is outside its validity period. Renew the certificate, or check this machine's clock`;
  }
}
