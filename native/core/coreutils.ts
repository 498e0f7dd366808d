// The first line of a GNU coreutils error, for native code that does in-process what legacy does with mkdir, cp,
// chmod, mv and rm, and must report a failure in the same words (storage.md's `<reason>` is that line). Two
// quoting styles, as coreutils 9 uses them: `mkdir` quotes a name with quote() — ‘name’ in a UTF-8 locale, 'name'
// otherwise — and cp, chmod, mv and rm with quoteaf() — shell quoting, 'name', whatever the locale.

const STRERROR: Readonly<Record<string, string>> = {
  EPERM: 'Operation not permitted', EACCES: 'Permission denied', EROFS: 'Read-only file system',
  EINVAL: 'Invalid argument', ENOTSUP: 'Operation not supported', EOPNOTSUPP: 'Operation not supported',
  ENOENT: 'No such file or directory', ENOTDIR: 'Not a directory', EIO: 'Input/output error',
  ELOOP: 'Too many levels of symbolic links', ENAMETOOLONG: 'File name too long', ENOSPC: 'No space left on device',
  EDQUOT: 'Disk quota exceeded', ESTALE: 'Stale file handle', EEXIST: 'File exists', EISDIR: 'Is a directory',
  EBUSY: 'Device or resource busy', ETXTBSY: 'Text file busy', EFBIG: 'File too large', EMFILE: 'Too many open files',
  ENFILE: 'Too many open files in system', EXDEV: 'Invalid cross-device link', ENOTEMPTY: 'Directory not empty',
  ENOMEM: 'Cannot allocate memory', ENXIO: 'No such device or address', ENODEV: 'No such device',
};

/** glibc's strerror text for an errno code (`ENOSPC` → `No space left on device`). */
export function strerror(code: string | undefined): string {
  return (code !== undefined ? STRERROR[code] : undefined) ?? 'unknown error';
}

/** The errno code of a thrown system error, or undefined. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The locale's character set is UTF-8 (LC_ALL, else LC_CTYPE, else LANG), as gnulib's quote() decides. */
export function utf8Locale(env: Env): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(locale);
}

const C_ESCAPES: Readonly<Record<string, string>> = { '\x07': 'a', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't', '\v': 'v' };

function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

function controlEscape(char: string): string {
  return `\\${C_ESCAPES[char] ?? char.charCodeAt(0).toString(8).padStart(3, '0')}`;
}

/** quote(): locale quoting, the quotes chosen by the locale; backslashes and control characters escaped. */
export function localeQuote(name: string, env: Env): string {
  const [open, close] = utf8Locale(env) ? ['‘', '’'] : ["'", "'"];
  let body = '';
  for (const char of name) {
    if (char === '\\') body += '\\\\';
    else if (char === close) body += `\\${char}`;
    else if (isControl(char)) body += controlEscape(char);
    else body += char;
  }
  return `${open}${body}${close}`;
}

/** quoteaf(): shell-escape-always quoting: 'name', a quote as '\'' and control characters as '$'\n''. */
export function shellQuote(name: string): string {
  let out = "'";
  for (const char of name) {
    if (char === "'") out += "'\\''";
    else if (isControl(char)) out += `'$'${controlEscape(char)}''`;
    else out += char;
  }
  return `${out}'`.replace(/^''(?=.)/, '').replace(/(?<=.)''$/, '');
}
