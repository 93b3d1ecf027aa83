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

/** Longest URL accepted: longer is no webhook address. */
export const MAX_URL_LENGTH = 2048;

const PRIVATE = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  PRIVATE.addSubnet(net4, prefix, 'ipv4');
}
for (const [net6, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96], // IPv4-mapped: refused whole, a public host resolves to its IPv4 address as such
  ['64:ff9b::', 96], // NAT64, which could reach any IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  PRIVATE.addSubnet(net6, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
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

/** The host of a URL as the resolver takes it: without IPv6 brackets. */
function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

export class AddressRefused extends Error {}

/**
 * The address to connect to for the URL: its host resolved, every address checked (unless private
 * ones are allowed). Throws AddressRefused naming the address when one is private, and the
 * resolver's error when the name does not resolve.
 */
export async function resolveDestination(url: URL, allowPrivate: boolean, signal?: AbortSignal): Promise<{ address: string; family: number }> {
  const host = bareHost(url);
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
    throw new InvalidError(`attribute "url": the host ${bareHost(url)} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, source);
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
