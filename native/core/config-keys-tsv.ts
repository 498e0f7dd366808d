// Renders the key table for the Bash loader (legacy/lib/config-keys.tsv): one key per line,
// tab-separated (an empty field is written '-', as no default is '-'), with `\n`, `\t` and `\\` escaped in the default. Regenerate with `npm run gen:keys`;
// a test fails when the committed file and this rendering differ.
import { CONFIG_KEYS, expectedText } from './config-keys.js';

const escapeField = (text: string): string =>
  text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\t', '\\t');

export function renderKeysTsv(): string {
  const header = '# name\tkind\tdefault\tmin\tmax\tvalues\tsecret\texpected\n'
    + '# Generated from native/core/config-keys.ts by `npm run gen:keys`. Do not edit.\n';
  const rows = CONFIG_KEYS.map((k) => [
    k.name, k.kind, k.defaultValue === '' ? '-' : escapeField(k.defaultValue), k.min === undefined ? '-' : String(k.min),
    k.max === undefined ? '-' : String(k.max), (k.values ?? []).join('|') || '-', k.secret === true ? 'secret' : '-',
    expectedText(k),
  ].join('\t'));
  return `${header}${rows.join('\n')}\n`;
}
