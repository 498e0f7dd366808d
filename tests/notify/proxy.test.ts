// Proxy variables in the notification transports (notify.md §6.1, README "Decisions": proxies), on both sides.
// A real HTTP proxy written here (absolute-form requests and CONNECT tunnels, routed by the target's host name,
// so the names need not resolve) counts what passes through it, in front of the loopback sink the notify tests
// use. The Bash and TypeScript notify_run stages run on twin run directories and must write the same lines.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatEnvLine } from '../../native/core/state-env.js';
import { parseProxy, proxyFor, type ProxyEnv } from '../../native/notify/proxy.js';
import { httpAttempt } from '../../native/notify/transport.js';
import { startHttpSink, TELEGRAM_OK, type HttpSink } from '../../native/parity/sinks.js';
import { sharedKeptRun, runShim, stageDir, stageEnv, type KeptRun } from '../backup/stage-run.js';
import { REPO } from '../legacy/run.js';
import { runNativeNotify } from './native-run.js';

const TOKEN = '123456789:AAH-test_token_abcdefghijklmnopqrstuvwx';
const PROXY_USER = 'proxyuser';
const PROXY_PASSWORD = 'pr0xy-s3cret:pw';
const PROXY_AUTH = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64')}`;

// ---------------------------------------------------------------------------------------------------------------
// The test proxy

interface Passed { readonly kind: 'absolute' | 'connect'; readonly target: string; readonly auth: string | undefined }

interface TestProxy {
  readonly url: string;
  readonly port: number;
  readonly passed: Passed[];
  close(): Promise<void>;
}

/** ROUTES: host name (as the client names it) → a loopback port. Other names get 502. */
async function startProxy(routes: Map<string, number>, requireAuth?: string): Promise<TestProxy> {
  const passed: Passed[] = [];
  const sockets = new Set<Socket>();
  const authorised = (req: IncomingMessage): boolean => requireAuth === undefined || req.headers['proxy-authorization'] === requireAuth;
  const server: Server = createHttpServer((req, res) => {
    const target = new URL(req.url ?? '/');
    passed.push({ kind: 'absolute', target: `${req.method ?? ''} ${req.url ?? ''}`, auth: req.headers['proxy-authorization'] });
    const port = routes.get(target.hostname);
    if (!authorised(req) || port === undefined) {
      res.writeHead(authorised(req) ? 502 : 407).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: `${target.pathname}${target.search}`, headers, agent: false },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    passed.push({ kind: 'connect', target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    const port = routes.get((req.url ?? '').replace(/:[0-9]+$/, ''));
    if (!authorised(req) || port === undefined) {
      client.end(`HTTP/1.1 ${authorised(req) ? '502 Bad Gateway' : '407 Proxy Authentication Required'}\r\n\r\n`);
      return;
    }
    const upstream = netConnect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`, port, passed,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The rule, function level: proxy.ts and legacy notify_proxy agree case by case

const RULES: [string, ProxyEnv, string][] = [
  ['https target, lower case', { https_proxy: 'http://proxy.corp:3128' }, 'https://api.telegram.org/bot1/sendMessage'],
  ['https target, upper case only', { HTTPS_PROXY: 'proxy.corp:3128' }, 'https://api.telegram.org/'],
  ['lower case wins', { https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' }, 'https://api.telegram.org/'],
  ['empty lower case counts as unset', { https_proxy: '', HTTPS_PROXY: 'http://upper:2' }, 'https://api.telegram.org/'],
  ['http target ignores https_proxy', { https_proxy: 'http://p:1' }, 'http://hooks.example.org/x'],
  ['http target, HTTP_PROXY', { HTTP_PROXY: 'http://p:1' }, 'http://hooks.example.org/x'],
  ['default port 1080, credentials', { http_proxy: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@p` }, 'http://hooks.example.org/x'],
  ['loopback 127/8', { http_proxy: 'http://p:1' }, 'http://127.0.0.5:9/x'],
  ['loopback localhost', { http_proxy: 'http://p:1' }, 'http://localhost:9/x'],
  ['loopback *.localhost', { https_proxy: 'http://p:1' }, 'https://sink.localhost/x'],
  ['loopback ::1', { https_proxy: 'http://p:1' }, 'https://[::1]:8443/x'],
  ['no_proxy *', { https_proxy: 'http://p:1', no_proxy: '*' }, 'https://api.telegram.org/'],
  ['no_proxy domain with dot', { https_proxy: 'http://p:1', NO_PROXY: '.example.org' }, 'https://a.b.example.org/'],
  ['no_proxy domain itself', { https_proxy: 'http://p:1', no_proxy: 'x.test, .Example.ORG' }, 'https://example.org/'],
  ['no_proxy suffix only at a dot', { https_proxy: 'http://p:1', no_proxy: 'ample.org' }, 'https://example.org/'],
  ['no_proxy host:port, other port', { https_proxy: 'http://p:1', no_proxy: 'example.org:8443' }, 'https://example.org/'],
  ['no_proxy host:port, same port', { https_proxy: 'http://p:1', no_proxy: 'example.org:443' }, 'https://example.org/'],
  ['no_proxy blanks', { https_proxy: 'http://p:1', no_proxy: ' a.test  example.org ' }, 'https://example.org/'],
  ['no_proxy lower case wins', { https_proxy: 'http://p:1', no_proxy: 'a.test', NO_PROXY: 'example.org' }, 'https://example.org/'],
  ['no_proxy [v6]:port', { https_proxy: 'http://p:1', no_proxy: '[fe80::1]:443' }, 'https://[fe80::1]/'],
  ['socks proxy unsupported', { https_proxy: 'socks5://p:1080' }, 'https://api.telegram.org/'],
  ['https proxy unsupported', { https_proxy: 'https://p:443' }, 'https://api.telegram.org/'],
  ['proxy without host unsupported', { http_proxy: 'http://:3128' }, 'http://hooks.example.org/'],
  ['proxy port out of range unsupported', { http_proxy: 'http://p:70000' }, 'http://hooks.example.org/'],
];

function tsRoute(env: ProxyEnv, url: string): string {
  const choice = proxyFor(new URL(url), env);
  return choice.via === 'proxy' ? JSON.stringify(choice.proxy) : choice.via;
}

function bashRoute(env: ProxyEnv, url: string): string {
  const script = 'source "$1/legacy/lib/notify.sh"; rc=0; notify_proxy "$2" || rc=$?; printf "%s\\n%s" "$rc" "$NOTIFY_PROXY"';
  const out = execFileSync('bash', ['--norc', '--noprofile', '-euo', 'pipefail', '-c', script, 'bash', REPO, url],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } as NodeJS.ProcessEnv, encoding: 'utf8' });
  const [rc, proxy = ''] = out.split('\n');
  if (rc === '1') return 'unsupported';
  if (proxy === '') return 'direct';
  // The proxy value curl gets, read as proxy.ts reads it: the same host, port and credentials.
  return JSON.stringify(parseProxy(proxy));
}

describe('the route of a request (proxy.ts = legacy notify_proxy)', () => {
  it.each(RULES)('%s', (_name, env, url) => {
    expect(bashRoute(env, url)).toBe(tsRoute(env, url));
  });

  it('picks what curl would', () => {
    const route = (env: ProxyEnv, url: string): string => tsRoute(env, url);
    expect(route({ https_proxy: 'http://lower:1', HTTPS_PROXY: 'http://upper:2' }, 'https://a.org/')).toBe('{"host":"lower","port":1}');
    expect(route({ http_proxy: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@p` }, 'http://a.org/'))
      .toBe(JSON.stringify({ host: 'p', port: 1080, authorization: PROXY_AUTH }));
    for (const [name, env, url] of RULES) {
      if (/loopback|no_proxy \*|domain|same port|blanks|\[v6\]|http target ignores/.test(name)) expect(route(env, url), name).toBe('direct');
      if (/unsupported/.test(name)) expect(route(env, url), name).toBe('unsupported');
    }
    expect(route({ https_proxy: 'http://p:1', no_proxy: 'ample.org' }, 'https://example.org/')).not.toBe('direct');
    expect(route({ https_proxy: 'http://p:1', no_proxy: 'example.org:8443' }, 'https://example.org/')).not.toBe('direct');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The transport, function level

describe('httpAttempt through a proxy', () => {
  let sink: HttpSink;
  let proxy: TestProxy;
  beforeAll(async () => {
    sink = await startHttpSink([TELEGRAM_OK]);
    proxy = await startProxy(new Map([['hooks.example.test', Number(new URL(sink.base).port)]]), PROXY_AUTH);
  });
  afterAll(async () => {
    await proxy.close();
    await sink.close();
  });

  it('sends an http target as an absolute-form request with Proxy-Authorization; the reply is the sink\'s', async () => {
    const env = { http_proxy: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${proxy.port}` };
    const result = await httpAttempt('http://hooks.example.test/hook/one?token=abc', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' }, env });
    expect(result).toEqual({ reply: expect.objectContaining({ status: 200 }) as unknown });
    expect(proxy.passed.at(-1)).toEqual({ kind: 'absolute', target: 'POST http://hooks.example.test/hook/one?token=abc', auth: PROXY_AUTH });
    expect(sink.requests.at(-1)).toMatchObject({ method: 'POST', url: '/hook/one?token=abc', body: '{}' });
    expect(sink.requests.at(-1)?.headers.host).toBe('hooks.example.test');
  });

  it('a proxy that wants credentials and gets none: its 407 is the reply (HTTP 407), as curl reports it', async () => {
    const result = await httpAttempt('http://hooks.example.test/x', { method: 'GET', headers: {}, env: { http_proxy: proxy.url } });
    expect('reply' in result && result.reply.status).toBe(407);
  });

  it('an unsupported proxy scheme is a network error, nothing sent', async () => {
    const before = proxy.passed.length;
    expect(await httpAttempt('http://hooks.example.test/x', { method: 'GET', headers: {}, env: { http_proxy: `socks5://127.0.0.1:${proxy.port}` } }))
      .toEqual({ reason: 'network error' });
    expect(proxy.passed).toHaveLength(before);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Both stages through the proxy

let kept: KeptRun;
let sink: HttpSink;
let tls: { server: Server; port: number; dir: string };
beforeAll(async () => {
  kept = await sharedKeptRun('pve-single');
  sink = await startHttpSink([TELEGRAM_OK]);
  // A TLS server for CONNECT tunnels, with a self-signed certificate neither side trusts: the handshake runs
  // end to end through the tunnel and fails the same way on both sides.
  const dir = mkdtempSync(join(tmpdir(), 'pbk-proxy-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=api.telegram.test', '-addext', 'subjectAltName=DNS:api.telegram.test', '-keyout', join(dir, 'key.pem'),
    '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(TELEGRAM_OK.body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  tls = { server, port: typeof address === 'object' && address !== null ? address.port : 0, dir };
}, 240_000);

afterAll(async () => {
  await sink.close();
  await new Promise<void>((resolve) => tls.server.close(() => resolve()));
  rmSync(tls.dir, { recursive: true, force: true });
});

interface Side { lines: string[]; status: number; requests: string[]; passed: Passed[]; state: string[]; files: string }

async function side(which: 'bash' | 'ts', proxy: TestProxy | undefined, context: Record<string, string>,
  proxyEnv: Record<string, string>): Promise<Side> {
  const firstRequest = sink.requests.length;
  const firstPassed = proxy?.passed.length ?? 0;
  const dir = stageDir(kept, {}, {});
  writeFileSync(dir.contextPath, `${readFileSync(dir.contextPath, 'utf8')}${Object.entries({ ...context, DEBUG_LEVEL: 'advanced' })
    .map(([k, v]) => formatEnvLine(k, v)).join('')}`);
  const env = stageEnv(kept, { PBK_NOW: '1732500042', ...proxyEnv });
  const result = which === 'bash' ? await runShim('notify_run', dir, env) : await runNativeNotify(dir, env);
  const notify = join(dir.path, 'notify');
  const files = readdirSync(notify).map((name) => readFileSync(join(notify, name), 'latin1')).join('\n');
  const state = readFileSync(dir.statePath, 'utf8') + readFileSync(dir.contextPath, 'utf8').split('\n').filter((l) => !/^(http|https|no)_proxy=/i.test(l)).join('\n');
  rmSync(dir.path, { recursive: true, force: true });
  return {
    status: result.status, lines: result.lines, files,
    state: [...result.state].filter(([k]) => k.startsWith('NOTIFY_')).map(([k, v]) => `${k}=${v}`).concat(state.includes(PROXY_PASSWORD) ? ['LEAK'] : []),
    requests: sink.requests.slice(firstRequest).map((r) => `${r.method} ${r.headers.host ?? ''} ${r.url}`),
    passed: proxy?.passed.slice(firstPassed) ?? [],
  };
}

/** Both sides with the same sink and proxy, one after the other; their lines, requests and routes must agree. */
async function both(proxy: TestProxy | undefined, context: Record<string, string>, proxyEnv: Record<string, string>): Promise<Side> {
  const bash = await side('bash', proxy, context, proxyEnv);
  const ts = await side('ts', proxy, context, proxyEnv);
  expect(ts.lines).toEqual(bash.lines);
  expect(ts.requests).toEqual(bash.requests);
  expect(ts.passed).toEqual(bash.passed);
  expect(ts.state).toEqual(bash.state);
  expect(ts.status).toBe(bash.status);
  for (const s of [bash, ts]) {
    const text = `${s.lines.join('\n')}\n${s.files}`;
    expect(text).not.toContain(PROXY_PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PROXY_PASSWORD));
    expect(text).not.toContain(PROXY_AUTH.slice('Basic '.length));
    expect(s.state).not.toContain('LEAK');
  }
  return ts;
}

const sinkPort = (): number => Number(new URL(sink.base).port);

describe('notify_run through a proxy, Bash = TypeScript', () => {
  it('names that are not loopback go through the proxy (Telegram, webhook, healthcheck); credentials never logged', async () => {
    const proxy = await startProxy(new Map([['api.telegram.test', sinkPort()], ['hooks.example.test', sinkPort()], ['hc.example.test', sinkPort()]]), PROXY_AUTH);
    try {
      const ts = await both(proxy, {
        TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: 'http://api.telegram.test',
        WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: 'http://hooks.example.test/hook/one?token=s3cr3t-value', HEALTHCHECK_URL: 'http://hc.example.test/ping/abc',
      }, { http_proxy: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${proxy.port}`, https_proxy: 'http://127.0.0.1:1' });
      expect(ts.passed).toEqual([
        { kind: 'absolute', target: `POST http://api.telegram.test/bot${TOKEN}/sendMessage`, auth: PROXY_AUTH },
        { kind: 'absolute', target: 'POST http://hooks.example.test/hook/one?token=s3cr3t-value', auth: PROXY_AUTH },
        { kind: 'absolute', target: 'POST http://hc.example.test/ping/abc', auth: PROXY_AUTH },
      ]);
      expect(ts.requests).toEqual([`POST api.telegram.test /bot${TOKEN}/sendMessage`, 'POST hooks.example.test /hook/one?token=s3cr3t-value',
        'POST hc.example.test /ping/abc']);
      expect(ts.lines).toContain('[SUCCESS] Telegram notification sent');
      expect(ts.lines).toContain('[SUCCESS] Webhook 1 (http://hooks.example.test/***) delivered (HTTP 200)');
      expect(ts.lines).toContain('[SUCCESS] Healthcheck ping success sent');
      expect(ts.status).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('loopback targets and no_proxy matches do not go through the proxy', async () => {
    const proxy = await startProxy(new Map([['hooks.invalid', sinkPort()]]));
    try {
      const ts = await both(proxy, {
        TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: sink.base,
        WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: `http://localhost:${sinkPort()}/hook/local\nhttp://hooks.invalid/hook/two`,
      }, { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: 'other.example, hooks.invalid:80' });
      expect(ts.passed).toEqual([]);
      expect(ts.requests).toEqual([`POST 127.0.0.1:${sinkPort()} /bot${TOKEN}/sendMessage`, `POST localhost:${sinkPort()} /hook/local`]);
      // Direct, hooks.invalid does not resolve: the words of a direct failure.
      expect(ts.lines).toContain('[WARNING] Webhook 2 (http://hooks.invalid/***) failed: name resolution failed');
    } finally {
      await proxy.close();
    }
  });

  it('the proxy down: connection failed, the same words on both sides', async () => {
    const ts = await both(undefined, { WEBHOOK_ENABLED: 'true', WEBHOOK_URLS: 'http://hooks.example.test/hook/x' },
      { http_proxy: `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${await closedPort()}` });
    expect(ts.lines).toContain('[WARNING] Webhook 1 (http://hooks.example.test/***) failed: connection failed');
    expect(ts.lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
    expect(ts.requests).toEqual([]);
  });

  it('an https target through a CONNECT tunnel: TLS end to end (an untrusted certificate is a TLS error on both sides)', async () => {
    const proxy = await startProxy(new Map([['api.telegram.test', tls.port]]), PROXY_AUTH);
    try {
      const ts = await both(proxy, { TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123', TELEGRAM_API_BASE: 'https://api.telegram.test' },
        { https_proxy: `${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${proxy.port}` });
      expect(ts.passed).toEqual(Array.from({ length: 3 }, () => ({ kind: 'connect', target: 'api.telegram.test:443', auth: PROXY_AUTH })));
      expect(ts.lines).toContain('[WARNING] Telegram notification failed: TLS error');
    } finally {
      await proxy.close();
    }
  });
  it('an https target through a CONNECT tunnel with a trusted certificate: delivered on both sides', async () => {
    const proxy = await startProxy(new Map([['api.telegram.test', tls.port]]), PROXY_AUTH);
    const https_proxy = `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASSWORD)}@127.0.0.1:${proxy.port}`;
    try {
      // Bash: the whole stage, the test certificate trusted through CURL_CA_BUNDLE (notify.md §10).
      const bash = await side('bash', proxy, { TELEGRAM_ENABLED: 'true', TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_CHAT_ID: '-100123',
        TELEGRAM_API_BASE: 'https://api.telegram.test' }, { https_proxy, CURL_CA_BUNDLE: join(tls.dir, 'cert.pem') });
      expect(bash.lines).toContain('[SUCCESS] Telegram notification sent');
      expect(bash.passed).toEqual([{ kind: 'connect', target: 'api.telegram.test:443', auth: PROXY_AUTH }]);
      // TypeScript: NODE_EXTRA_CA_CERTS is read when node starts, so httpAttempt runs in a child that has it;
      // the child is the edge and hands its process.env in.
      const script = join(tls.dir, 'attempt.ts');
      writeFileSync(script, `import { httpAttempt } from ${JSON.stringify(join(REPO, 'native/notify/transport.ts'))};\n`
        + "const r = await httpAttempt('https://api.telegram.test/botX/sendMessage', { method: 'POST', body: 'a=1', headers: {}, env: process.env });\n"
        + "process.stdout.write(JSON.stringify('reply' in r ? { status: r.reply.status, body: r.reply.body } : r));\n");
      // Asynchronously: the proxy and the TLS server answer from this process.
      const { stdout: out } = await promisify(execFile)(join(REPO, 'node_modules/.bin/vite-node'), [script], {
        cwd: REPO, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_EXTRA_CA_CERTS: join(tls.dir, 'cert.pem'), https_proxy },
      });
      expect(JSON.parse(out)).toEqual({ status: 200, body: TELEGRAM_OK.body });
      expect(proxy.passed.at(-1)).toEqual({ kind: 'connect', target: 'api.telegram.test:443', auth: PROXY_AUTH });
      expect(proxy.passed).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });
});
