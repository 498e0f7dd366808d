// esc(): the one escaping of outside strings in log lines, notifications and reports (security.md §1).
// Works on bytes, so names that are not valid UTF-8 are shown, not mangled.

const NAMED: Readonly<Record<number, string>> = { 0x0a: '\\n', 0x09: '\\t', 0x0d: '\\r', 0x5c: '\\\\' };

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes there are not valid UTF-8. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] ?? 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

export function escBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    if (b < 0x80) {
      const named = NAMED[b];
      if (named !== undefined) out += named;
      else if (b < 0x20 || b === 0x7f) out += hexByte(b);
      else out += String.fromCharCode(b);
      i += 1;
      continue;
    }
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += hexByte(b);
      i += 1;
      continue;
    }
    const char = Buffer.from(bytes.subarray(i, i + len)).toString('utf8');
    const cp = char.codePointAt(0) ?? 0;
    if ((cp >= 0x80 && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029) {
      out += `\\u${cp.toString(16).padStart(4, '0')}`;
    } else {
      out += char;
    }
    i += len;
  }
  return out;
}

/** esc() of a JS string. Lone surrogates cannot come from UTF-8 input; they are encoded as U+FFFD by Buffer. */
export function esc(text: string | Uint8Array): string {
  return escBytes(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}
