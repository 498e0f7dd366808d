// Secret redaction (security.md §8.2): every secret of 6+ characters becomes *** in every text
// we emit, in its raw, percent-encoded and esc()-encoded forms, longest first.
import { esc } from './esc.js';

export const MIN_REDACTED_LENGTH = 6;
export const MASK = '***';

export class Redactor {
  private needles: readonly string[] = [];

  constructor(secrets: Iterable<string>) {
    this.add(...secrets);
  }

  /** More secrets from now on (log_add_secret: a token a central server returned, notify.md §6.4). */
  add(...secrets: string[]): void {
    const forms = new Set<string>(this.needles);
    for (const secret of secrets) {
      if (secret.length < MIN_REDACTED_LENGTH) continue;
      forms.add(secret);
      forms.add(encodeURIComponent(secret));
      forms.add(esc(secret));
    }
    this.needles = [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const needle of this.needles) out = out.split(needle).join(MASK);
    return out;
  }

  get isEmpty(): boolean {
    return this.needles.length === 0;
  }
}

/** The secret strings of a resolved configuration (security.md §8.1). */
export function secretsOf(values: ReadonlyMap<string, string>, secretKeys: Iterable<string>): string[] {
  const found: string[] = [];
  for (const key of secretKeys) {
    const value = values.get(key) ?? '';
    if (value === '') continue;
    if (key === 'WEBHOOK_URLS') {
      found.push(...value.split('\n').filter((v) => v !== ''));
    } else {
      found.push(value);
    }
    if (key === 'WEBHOOK_AUTH_HEADER') {
      const colon = value.indexOf(':');
      if (colon >= 0) found.push(value.slice(colon + 1).trim());
    }
  }
  return found;
}
