// Where notifications may be sent. A destination URL is http(s), without credentials, and its host
// must resolve only to public addresses: a notification configuration is written by workspace
// admins, and without this check it would let them make otfd call into its own network (its
// database, cloud metadata at 169.254.169.254, services on loopback). Every address a name
// resolves to is checked, and the connection goes to the address that was checked, so that DNS
// cannot answer differently between the check and the connection. --notification-allow-private-addresses
// turns the check off (for a private chat server, and for tests).
import dns from 'node:dns';
import net from 'node:net';
import { InvalidError } from '../errors.js';
import { expandV6, hostOf } from '../vcs/index.js';

/** Longest URL accepted: longer is no webhook address. */
export const MAX_URL_LENGTH = 2048;

// Two lists: a BlockList checks an IPv4 address against its IPv6 rules too, as ::ffff:a.b.c.d, so
// one list refusing ::ffff:0:0/96 would refuse every IPv4 address.
const PRIVATE_V4 = new net.BlockList();
const PRIVATE_V6 = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relays
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  PRIVATE_V4.addSubnet(net4, prefix, 'ipv4');
}
// IPv6 ranges refused whole. Several embed an IPv4 address that a relay or translator would reach
// (IPv4-compatible, mapped and translated forms, local-use NAT64, Teredo): refused rather than
// trusted, a public host has plain IPv4 or IPv6 addresses for those.
for (const [net6, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible ::a.b.c.d
  ['::ffff:0:0', 96], // IPv4-mapped: a public host resolves to its IPv4 address as such
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215): translated by whatever the local network chose
  ['100::', 64], // discard-only
  ['2001::', 32], // Teredo: tunnels to an embedded IPv4 address
  ['2001:2::', 48], // benchmarking
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed on some networks)
  ['ff00::', 8], // multicast
] as const) {
  PRIVATE_V6.addSubnet(net6, prefix, 'ipv6');
}

/** Two 16-bit groups as a dotted IPv4 address. */
function ipv4Of(high: number, low: number): string {
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * The IPv4 address an IPv6 address carries to be reached through, when it is of a form whose
 * embedded IPv4 address decides where packets go: well-known NAT64 (64:ff9b::/96, RFC 6052), 6to4
 * (2002::/16, RFC 3056) and ISATAP interface identifiers (::5efe:a.b.c.d, RFC 5214).
 */
function embeddedIpv4(g: number[]): string | null {
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0) return ipv4Of(g[6], g[7]);
  if (g[0] === 0x2002) return ipv4Of(g[1], g[2]);
  if ((g[4] & 0xfdff) === 0 && g[5] === 0x5efe) return ipv4Of(g[6], g[7]);
  return null;
}

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  if (family === 4) return PRIVATE_V4.check(address, 'ipv4');
  if (PRIVATE_V6.check(address.split('%')[0], 'ipv6')) return true;
  const v4 = embeddedIpv4(expandV6(address)!);
  return v4 !== null && PRIVATE_V4.check(v4, 'ipv4');
}

/**
 * The URL, parsed, when it may be a destination at all (without resolving it); an InvalidError
 * naming the attribute otherwise.
 */
export function parseDestinationUrl(text: string, pointer = '/data/attributes/url'): URL {
  const source = { pointer };
  if (text.length > MAX_URL_LENGTH) throw new InvalidError(`attribute "url" is ${text.length} characters long; it may be at most ${MAX_URL_LENGTH}`, source);
  if (/\s/.test(text) || [...text].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')) throw new InvalidError('attribute "url" must not contain spaces or control characters', source);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidError('attribute "url" must be an absolute http:// or https:// URL', source);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidError(`attribute "url" must be an http:// or https:// URL, not ${url.protocol.replace(/:$/, '')}://`, source);
  }
  if (url.username !== '' || url.password !== '') {
    throw new InvalidError('attribute "url" must not carry credentials (user:password@); a generic destination can be given a token, which signs its payloads', source);
  }
  if (url.hostname === '') throw new InvalidError('attribute "url" must name a host', source);
  return url;
}

export class AddressRefused extends Error {}

/**
 * The address to connect to for the URL: its host resolved, every address checked (unless private
 * ones are allowed). Throws AddressRefused naming the address when one is private, and the
 * resolver's error when the name does not resolve.
 */
export async function resolveDestination(url: URL, allowPrivate: boolean, signal?: AbortSignal): Promise<{ address: string; family: number }> {
  const host = hostOf(url);
  const literal = net.isIP(host);
  const addresses = literal !== 0 ? [{ address: host, family: literal }] : await withinDeadline(dns.promises.lookup(host, { all: true, verbatim: true }), signal);
  if (addresses.length === 0) throw new Error(`${host} resolves to no address`);
  if (!allowPrivate) {
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) {
      const which = literal !== 0 ? `${host} is` : `${host} resolves to ${bad.address}, which is`;
      throw new AddressRefused(`${which} a private, loopback or link-local address; otfd sends notifications there only with --notification-allow-private-addresses`);
    }
  }
  return addresses[0];
}

/**
 * The promise's answer, or the signal's reason once it aborts first. The resolver has no deadline
 * of its own (the system's can be long) and cannot be cancelled: a late answer is ignored.
 */
function withinDeadline<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err as Error);
      },
    );
  });
}

/** For create and update: the destination must resolve, and only to addresses otfd may reach (422 otherwise). */
export async function checkDestination(url: URL, allowPrivate: boolean): Promise<void> {
  const source = { pointer: '/data/attributes/url' };
  try {
    // A request waits for this: a resolver that does not answer must not hold it up for long.
    await resolveDestination(url, allowPrivate, AbortSignal.timeout(10_000));
  } catch (err) {
    if (err instanceof AddressRefused) throw new InvalidError(`attribute "url" is refused: ${err.message}`, source);
    throw new InvalidError(`attribute "url": the host ${hostOf(url)} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, source);
  }
}

/**
 * A lookup function for http.request that answers with the one address already checked, whatever
 * the name: the connection cannot go anywhere else.
 */
export function pinnedLookup(address: string, family: number): net.LookupFunction {
  return ((_hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as unknown as net.LookupFunction;
}
