import { describe, expect, it } from 'vitest';
import { esc } from './esc.js';
import { Redactor, secretsOf } from './redact.js';

describe('esc (security.md §1)', () => {
  it.each([
    { rule: 'printable ASCII untouched', input: Buffer.from('plain /etc/pve'), want: 'plain /etc/pve' },
    { rule: 'backslash doubled', input: Buffer.from('a\\b'), want: 'a\\\\b' },
    { rule: 'LF TAB CR named', input: Buffer.from('a\nb\tc\rd'), want: 'a\\nb\\tc\\rd' },
    { rule: 'other controls and DEL as hex', input: Buffer.from([0x01, 0x1b, 0x7f]), want: '\\x01\\x1b\\x7f' },
    { rule: 'invalid UTF-8 byte as hex', input: Buffer.from([0x61, 0xff, 0x62]), want: 'a\\xffb' },
    { rule: 'truncated sequence as hex', input: Buffer.from([0xe2, 0x82]), want: '\\xe2\\x82' },
    { rule: 'C1 control as \\u', input: Buffer.from([0xc2, 0x85]), want: '\\u0085' },
    { rule: 'line separators as \\u', input: Buffer.from('\u2028\u2029'), want: '\\u2028\\u2029' },
    { rule: 'valid UTF-8 kept', input: Buffer.from('Größe €'), want: 'Größe €' },
    { rule: 'overlong encoding rejected', input: Buffer.from([0xc0, 0xaf]), want: '\\xc0\\xaf' },
  ])('$rule', ({ input, want }) => {
    expect(esc(input)).toBe(want);
  });
});

describe('Redactor (security.md §8.2)', () => {
  const redactor = new Redactor(['123456:ABC-def', 'short', 'p@ss word!']);
  it.each([
    { rule: 'raw form', text: 'https://api/bot123456:ABC-def/sendMessage', want: 'https://api/bot***/sendMessage' },
    { rule: 'percent-encoded form', text: 'pw=p%40ss%20word! end', want: 'pw=*** end' },
    { rule: 'secrets under 6 characters are left alone', text: 'a short text', want: 'a short text' },
    { rule: 'no secret, no change', text: 'nothing here', want: 'nothing here' },
  ])('$rule', ({ text, want }) => {
    expect(redactor.redact(text)).toBe(want);
  });

  it('masks the longest secret first', () => {
    expect(new Redactor(['abcdef', 'abcdefghij']).redact('x abcdefghij y')).toBe('x *** y');
  });

  it('finds webhook URLs one by one and the value of an auth header', () => {
    const values = new Map([['WEBHOOK_URLS', 'https://a/1\nhttps://b/2'], ['WEBHOOK_AUTH_HEADER', 'Authorization: Bearer xyz123']]);
    expect(secretsOf(values, ['WEBHOOK_URLS', 'WEBHOOK_AUTH_HEADER']))
      .toEqual(['https://a/1', 'https://b/2', 'Authorization: Bearer xyz123', 'Bearer xyz123']);
  });
});
