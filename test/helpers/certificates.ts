// Self-signed certificates for the tests, made with the openssl CLI.
import { execFileSync } from 'node:child_process';

/** Writes a self-signed certificate and its key for `names` (the first is the common name; IPs as IP: SANs). */
export function selfSignedCertificate(certFile: string, keyFile: string, names: string[], days = 1): void {
  const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', String(days),
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${san}`,
  ], { stdio: 'ignore' });
}
