/**
 * Where a webhook may go. At creation the URL is checked for shape (http or https, a host, no
 * credentials, at most 2,000 characters). At each delivery its host is resolved and every address
 * is checked: loopback, private (RFC 1918, fc00::/7), link-local (169.254/16 — cloud metadata —
 * and fe80::/10), CGNAT, unspecified and multicast addresses are refused unless the operator
 * allows them (MAAS_WEBHOOK_ALLOW_PRIVATE); the request then connects to the address that was
 * checked, so a DNS answer that changes between the check and the connection (rebinding) cannot
 * redirect it.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { fail } from '../../common/errors';

const MAX_URL = 2000;

/** The URL a caller gave, checked for shape only (DNS is resolved at delivery time). */
export function parseWebhookUrl(raw: unknown, pointer = 'webhook'): URL {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_URL)
    fail('invalid_request', `${pointer} must be an http(s) URL of at most ${MAX_URL} characters`, {
      pointer,
    });
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('invalid_request', `${pointer} is not a URL`, { pointer });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    fail('invalid_request', `${pointer} must use http or https, not ${url.protocol.slice(0, 20)}`, {
      pointer,
    });
  if (url.username || url.password)
    fail('invalid_request', `${pointer} must not carry credentials`, { pointer });
  if (!url.hostname) fail('invalid_request', `${pointer} has no host`, { pointer });
  return url;
}

const v4 = (a: string): number[] => a.split('.').map(Number);

function isPrivateV4(a: string): boolean {
  const [x, y] = v4(a);
  return (
    x === 0 ||
    x === 10 ||
    x === 127 ||
    (x === 100 && y >= 64 && y < 128) ||
    (x === 169 && y === 254) ||
    (x === 172 && y >= 16 && y < 32) ||
    (x === 192 && y === 168) ||
    (x === 198 && (y === 18 || y === 19)) ||
    x >= 224
  );
}

function isPrivateV6(address: string): boolean {
  const a = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return isPrivateV4(mapped[1]);
  return (
    a === '::' ||
    a === '::1' ||
    a.startsWith('fc') ||
    a.startsWith('fd') ||
    /^fe[89ab]/.test(a) ||
    a.startsWith('ff') ||
    a.startsWith('64:ff9b:')
  );
}

/** Loopback, private, link-local, CGNAT, unspecified, benchmark or multicast. */
export function isPrivateAddress(address: string): boolean {
  return isIP(address) === 4 ? isPrivateV4(address) : isPrivateV6(address);
}

export interface ResolvedTarget {
  url: URL;
  /** The checked address the delivery connects to. */
  address: string;
  family: 4 | 6;
}

/** Resolves the host and checks every address; a refusal names the reason, never the address. */
export async function resolveWebhookTarget(url: URL, allowPrivate: boolean): Promise<ResolvedTarget> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses = literal
    ? [{ address: host, family: literal as 4 | 6 }]
    : await lookup(host, { all: true, verbatim: true }).catch(() =>
        fail('invalid_request', `the webhook host '${host.slice(0, 100)}' does not resolve`),
      );
  if (addresses.length === 0)
    fail('invalid_request', `the webhook host '${host.slice(0, 100)}' does not resolve`);
  if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address)))
    fail(
      'forbidden',
      'the webhook URL resolves to a loopback, private or link-local address; the operator may allow such targets with MAAS_WEBHOOK_ALLOW_PRIVATE=1',
    );
  const first = addresses[0];
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
