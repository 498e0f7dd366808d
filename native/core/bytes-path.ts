// File names are bytes on Linux, not text: a name that is not valid UTF-8 must be copied, archived and logged as
// the bytes it is. Node's fs takes a JS string path as UTF-8 (lossy for such a name) but a Buffer as raw bytes.
// So collection and archiving carry paths as *byte strings* — latin1 strings, one char per byte, which compare
// in byte order like `LC_ALL=C sort` — and turn them into a Buffer at each fs call.
import { esc } from './esc.js';

/** A byte string as the Buffer fs calls take. */
export function fsPath(bytes: string): Buffer {
  return Buffer.from(bytes, 'latin1');
}

/** A text value (configuration, a literal path) as a byte string. */
export function toBytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A byte string back as text (invalid UTF-8 becomes U+FFFD: only for values known to be text). */
export function fromBytes(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** esc() of a byte string: names that are not UTF-8 show as \xNN, exactly as legacy log_esc does. */
export function escPath(bytes: string): string {
  return esc(Buffer.from(bytes, 'latin1'));
}

/** `a/b` without doubling a slash. */
export function joinBytes(dir: string, name: string): string {
  return dir.endsWith('/') ? `${dir}${name}` : `${dir}/${name}`;
}

/** Byte order of two byte strings (`LC_ALL=C sort`): latin1 code units are the bytes. */
export function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
