// Which hosts otfd refuses to talk to as a VCS provider. An organization admin chooses api-url and
// http-url, and otfd then makes requests there: a link-local address (169.254.169.254 is the cloud
// metadata service on every major cloud, with the machine's credentials) or an unspecified one
// (0.0.0.0 and :: reach this very machine) is never a VCS provider. Private and loopback addresses
// stay allowed: self-hosted GitLab and Forgejo live there (and the tests use 127.0.0.1).
import dns from 'node:dns/promises';
import net from 'node:net';

/** Why an IP address is refused, or null when it is allowed. */
export function refusedAddress(ip: string): string | null {
  const kind = net.isIP(ip);
  if (kind === 4) return refusedV4(ip);
  if (kind === 6) return refusedV6(ip);
  return null;
}

function refusedV4(ip: string): string | null {
  const [a, b] = ip.split('.').map(Number);
  if (a === 0) return 'an unspecified address (0.0.0.0/8)';
  if (a === 169 && b === 254) return 'a link-local address (169.254.0.0/16, where cloud metadata services answer)';
  return null;
}

function refusedV6(ip: string): string | null {
  const words = expandV6(ip.toLowerCase());
  if (words === null) return null;
  if (words.every((w) => w === 0)) return 'the unspecified address (::)';
  if ((words[0] & 0xffc0) === 0xfe80) return 'a link-local address (fe80::/10)';
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) addresses reach the IPv4 one.
  if (words.slice(0, 5).every((w) => w === 0) && (words[5] === 0xffff || words[5] === 0)) {
    const v4 = `${words[6] >> 8}.${words[6] & 0xff}.${words[7] >> 8}.${words[7] & 0xff}`;
    return refusedV4(v4);
  }
  return null;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part allowed), or null. */
export function expandV6(ip: string): number[] | null {
  let text = ip.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const words = [...head, ...Array<string>(Math.max(fill, 0)).fill('0'), ...tail].map((w) => parseInt(w, 16));
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}

/** The host of a URL as an address to check: IPv6 without its brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * At request time: the addresses the host resolves to, refused if any is refused (a name can be
 * pointed at 169.254.169.254 after the URL was accepted). Returns why, or null. A name that does
 * not resolve is left to the request, which then fails as unreachable.
 */
export async function refusedHost(url: URL): Promise<string | null> {
  const host = hostOf(url);
  if (net.isIP(host)) return refusedAddress(host);
  return refusedName(host);
}

/** Why a host name is refused (one of its addresses is), or null; a name that does not resolve is not. */
async function refusedName(host: string): Promise<string | null> {
  let found: Array<{ address: string }>;
  try {
    found = await dns.lookup(host, { all: true, verbatim: true });
  } catch {
    return null;
  }
  for (const { address } of found) {
    const why = refusedAddress(address);
    if (why) return `${host} resolves to ${why}`;
  }
  return null;
}

/**
 * The host git would fetch a clone URL from: that of an http(s):// or ssh:// URL, or of an
 * scp-like address ([user@]host:path, git's rule: a colon before any slash). Null when none can
 * be read.
 */
export function cloneHost(url: string): string | null {
  // Where parsers part ways, git (curl, ssh) may read another host than this one: a backslash
  // (a path separator to URL, not to curl), spaces and control characters (URL drops some), and
  // more than one @ before the host.
  // eslint-disable-next-line no-control-regex -- control characters are what it looks for
  if (/[\s\\\u0000-\u001f\u007f]/.test(url)) return null;
  if (url.includes('://')) {
    const authority = url.slice(url.indexOf('://') + 3).split(/[/?#]/, 1)[0];
    if (authority.split('@').length > 2) return null;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    const host = hostOf(parsed);
    return host === '' ? null : host;
  }
  const scp = /^(?:[^@/]*@)?(\[[^\]/@]*\]|[^:/[\]@]+):/.exec(url);
  return scp ? scp[1].replace(/^\[(.*)\]$/, '$1') : null;
}

/**
 * Before each fetch of a repository: why otfd refuses its clone URL, or null. The URL is the VCS
 * provider's answer (GitHub's clone_url, GitLab's http_url_to_repo), so the rule of api-url holds
 * for it too: no link-local or unspecified address, also by a name resolving to one. A URL whose
 * host cannot be read is refused: git might read one there that this check did not.
 */
export async function refusedCloneUrl(url: string): Promise<string | null> {
  const host = cloneHost(url);
  if (host === null) return 'its host cannot be read';
  if (net.isIP(host)) {
    const why = refusedAddress(host);
    return why ? `${host} is ${why}` : null;
  }
  return refusedName(host);
}
