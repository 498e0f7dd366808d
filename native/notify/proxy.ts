// Which proxy an HTTP notification goes through (notify.md §6.1, README "Decisions": proxies). A pure function of
// the target URL and an environment the caller passes in (the edge reads process.env, nothing here does).
// legacy/lib/notify.sh notify_proxy applies the same rule and hands curl the result explicitly, so both sides
// take the same route for every URL:
// - `https_proxy` for https targets, `http_proxy` for http; each also in upper case, the lower-case one wins
//   when it is set and not empty (curl's order; an empty value counts as unset). `all_proxy` is not read.
// - `no_proxy` (or `NO_PROXY`): entries split on commas and blanks; `*` matches every host; `name` or `.name`
//   matches that host and every host under it (case-insensitive); an IP address matches itself; `name:port`
//   and `[v6]:port` match only that port. CIDR ranges are not matched.
// - Loopback (`localhost`, `*.localhost`, 127.0.0.0/8, ::1) is never proxied.
// - A proxy value without a scheme is `http://`; without a port, port 1080 (curl's default). Only `http://`
//   proxies: any other scheme (https://, socks…) or an unusable value is `unsupported`, and the attempt fails
//   with `network error` on both sides. User info in the proxy URL becomes `Proxy-Authorization: Basic`.
import { isIP } from 'node:net';

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface HttpProxy {
  /** Host name or address to connect to (no IPv6 brackets). */
  readonly host: string;
  readonly port: number;
  /** The whole Proxy-Authorization value, when the proxy URL has user info. A secret: never logged. */
  readonly authorization?: string;
}

export type ProxyChoice =
  | { readonly via: 'direct' }
  | { readonly via: 'proxy'; readonly proxy: HttpProxy }
  | { readonly via: 'unsupported' };

const DIRECT: ProxyChoice = { via: 'direct' };

/** curl's lookup: the lower-case variable when set and not empty, else the upper-case one. */
function variable(env: ProxyEnv, lower: string): string {
  const value = env[lower];
  if (value !== undefined && value !== '') return value;
  return env[lower.toUpperCase()] ?? '';
}

/** A URL host without IPv6 brackets, lower case. */
function bareHost(host: string): string {
  return (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host).toLowerCase();
}

/** localhost, *.localhost, 127.0.0.0/8 and ::1: never proxied. */
export function isLoopback(host: string): boolean {
  const h = bareHost(host);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

/** Whether a no_proxy list names HOST (bare, lower case) on PORT. */
export function noProxyMatches(host: string, port: number, list: string): boolean {
  for (const entry of list.split(/[\s,]+/)) {
    if (entry === '') continue;
    if (entry === '*') return true;
    let name = entry;
    let entryPort: number | undefined;
    const bracketed = /^\[([^\]]*)\](?::([0-9]+))?$/.exec(entry);
    const hostPort = /^([^:]*):([0-9]+)$/.exec(entry);
    if (bracketed !== null) {
      name = bracketed[1] ?? '';
      entryPort = bracketed[2] === undefined ? undefined : Number(bracketed[2]);
    } else if (hostPort !== null) {
      name = hostPort[1] ?? '';
      entryPort = Number(hostPort[2]);
    }
    name = name.toLowerCase().replace(/^\./, '');
    if (name === '' || (entryPort !== undefined && entryPort !== port)) continue;
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}

/** The proxy variable's value as a proxy, or undefined when it cannot be used (not http://, no host, bad port). */
export function parseProxy(value: string): HttpProxy | undefined {
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || url.hostname === '') return undefined;
  const port = url.port === '' ? 1080 : Number(url.port);
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let credentials: string;
    try {
      credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    } catch {
      return undefined;
    }
    authorization = `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  }
  return { host: bareHost(url.hostname), port, ...(authorization !== undefined ? { authorization } : {}) };
}

/** The route of one request to TARGET (an http or https URL). */
export function proxyFor(target: URL, env: ProxyEnv): ProxyChoice {
  const https = target.protocol === 'https:';
  if (!https && target.protocol !== 'http:') return DIRECT;
  const value = variable(env, https ? 'https_proxy' : 'http_proxy');
  if (value === '') return DIRECT;
  const host = bareHost(target.hostname);
  if (isLoopback(host)) return DIRECT;
  const port = target.port === '' ? (https ? 443 : 80) : Number(target.port);
  if (noProxyMatches(host, port, variable(env, 'no_proxy'))) return DIRECT;
  const proxy = parseProxy(value);
  return proxy === undefined ? { via: 'unsupported' } : { via: 'proxy', proxy };
}
