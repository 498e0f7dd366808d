// Notification normaliser (notify.md §9): what the loopback sinks recorded — HTTP requests in arrival order
// (method, path with the Telegram token as ***, the compared headers, form fields decoded one per block) and
// sendmail calls (argv, message) — with dates, durations, free space, archive size and ratio, the sandbox and
// loopback ports tokenised.
import type { IncomingHttpHeaders } from 'node:http';
import { replaceLiterals, type Replacements } from './tokens.js';

/** What the normaliser reads of one request a loopback sink recorded (`Recorded` in native/parity/sinks.ts). */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const KEPT_HEADERS = ['content-type', 'user-agent', 'accept'] as const;

export function normaliseNotifyText(text: string, replacements: Replacements = []): string {
  return replaceLiterals(text, replacements)
    .replace(/^(Date: ).*$/gm, '$1<DATE>')
    .replace(/(⏱️ Duration: )\d\d:\d\d:\d\d/g, '$1<DURATION>')
    .replace(/(🔹 (?:Local|Secondary): )[^\n]+/g, '$1<FREE>')
    .replace(/(💾 Size: )[\d.]+ (?:B|KiB|MiB|GiB|TiB)( · ratio )-?[\d.]+%/g, '$1<SIZE>$2<RATIO>')
    .replace(/(💾 Size: )[\d.]+ (?:B|KiB|MiB|GiB|TiB)$/gm, '$1<SIZE>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>')
    .replace(/\bbot\d+:[A-Za-z0-9_-]{35,}/g, 'bot***');
}

function formBlocks(body: string): string {
  return body.split('&').filter((p) => p !== '').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, '%20'));
    return `[${name}]\n${value}\n`;
  }).join('');
}

/** JSON keys whose values change run to run (notify.md §9), and their tokens. */
const JSON_TOKENS: Readonly<Record<string, string>> = {
  duration_seconds: '<DURATION>', duration: '<DURATION>', free_bytes: '<FREE>', size_bytes: '<SIZE>', size: '<SIZE>',
  compression_ratio: '<RATIO>',
};

function canonicalJson(body: string, replacements: Replacements): string {
  const sort = (value: unknown): unknown => {
    if (typeof value === 'string') return normaliseNotifyText(value, replacements);
    if (Array.isArray(value)) return value.map(sort);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((k) => {
        const v = (value as Record<string, unknown>)[k];
        const token = JSON_TOKENS[k];
        return [k, token !== undefined && v !== null && typeof v !== 'object' ? token : sort(v)];
      }));
    }
    return value;
  };
  return `${JSON.stringify(sort(JSON.parse(body)), null, 2)}\n`;
}

export function normaliseHttpLog(requests: readonly RecordedRequest[], replacements: Replacements = []): string {
  if (requests.length === 0) return '(no request)\n';
  return requests.map((r, i) => {
    // Accept is compared for the central server's GET only (notify.md §9).
    const headers = KEPT_HEADERS.filter((h) => r.headers[h] !== undefined && (h !== 'accept' || r.method === 'GET')).map((h) => `${h}: ${String(r.headers[h])}\n`).join('');
    const type = String(r.headers['content-type'] ?? '');
    const head = normaliseNotifyText(`== request ${i + 1}\n${r.method} ${r.url}\n${headers}\n`, replacements);
    if (type.startsWith('application/json')) return head + canonicalJson(r.body, replacements);
    const body = type.startsWith('application/x-www-form-urlencoded') ? formBlocks(r.body) : r.body;
    return head + normaliseNotifyText(body, replacements);
  }).join('');
}
