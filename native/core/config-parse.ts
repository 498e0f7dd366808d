// Parser of the backup.env Bash subset (config.md §2). Pure: text in, assignments and errors out.
// legacy/lib/config.sh implements the same grammar step for step; tests run both on the same files.

export interface Assignment {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface ParseResult {
  readonly assignments: readonly Assignment[];
  readonly errors: readonly string[];
}

/** Where `$VAR` looks when the file has not assigned VAR yet: BASE_DIR, then the process environment. */
export type OutsideLookup = (name: string) => string | undefined;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;
const OPERATORS = new Set([';', '&', '|', '<', '>', '(', ')']);

class SyntaxFailure extends Error {
  constructor(readonly line: number, readonly reason: string, readonly fatal = false) {
    super(reason);
  }
}

class Cursor {
  pos = 0;
  line = 1;
  constructor(readonly text: string) {}
  ch(): string | undefined {
    return this.text[this.pos];
  }
  peek(offset = 1): string | undefined {
    return this.text[this.pos + offset];
  }
  advance(count = 1): void {
    for (let i = 0; i < count; i += 1) {
      if (this.text[this.pos] === '\n') this.line += 1;
      this.pos += 1;
    }
  }
  skipToLineEnd(): void {
    while (this.ch() !== undefined && this.ch() !== '\n') this.pos += 1;
  }
}

export function parseEnvText(text: string, label: string, outside: OutsideLookup): ParseResult {
  const assignments: Assignment[] = [];
  const errors: string[] = [];
  const assigned = new Map<string, string>();
  const lookup = (name: string): string => assigned.get(name) ?? outside(name) ?? '';
  const cur = new Cursor(text);

  for (;;) {
    while (cur.ch() === ' ' || cur.ch() === '\t' || cur.ch() === '\n') cur.advance();
    if (cur.ch() === undefined) break;
    const statementLine = cur.line;
    if (cur.ch() === '#') {
      cur.skipToLineEnd();
      continue;
    }
    try {
      const { key, value } = parseAssignment(cur, statementLine, lookup);
      // BASE_DIR is never read from the file (config.md §1): it is reported as unknown and not used to expand.
      if (key !== 'BASE_DIR') assigned.set(key, value);
      assignments.push({ key, value, line: statementLine });
    } catch (error) {
      if (!(error instanceof SyntaxFailure)) throw error;
      errors.push(`${label}:${error.line}: ${error.reason}`);
      if (error.fatal) break;
      cur.skipToLineEnd();
    }
  }
  return { assignments, errors };
}

function parseAssignment(cur: Cursor, line: number, lookup: (name: string) => string): { key: string; value: string } {
  if (cur.text.startsWith('export', cur.pos) && (cur.peek(6) === ' ' || cur.peek(6) === '\t')) {
    cur.advance(6);
    while (cur.ch() === ' ' || cur.ch() === '\t') cur.advance();
  }
  const key = readName(cur);
  if (key === '' || cur.ch() !== '=') throw new SyntaxFailure(line, 'unsupported syntax');
  cur.advance();
  if (cur.ch() === '(') throw new SyntaxFailure(line, 'unsupported syntax');
  const value = readWord(cur, line, lookup);
  while (cur.ch() === ' ' || cur.ch() === '\t') cur.advance();
  if (cur.ch() === '#') cur.skipToLineEnd();
  else if (cur.ch() !== undefined && cur.ch() !== '\n') throw new SyntaxFailure(line, 'unsupported syntax');
  return { key, value };
}

function readName(cur: Cursor): string {
  if (!NAME_START.test(cur.ch() ?? '')) return '';
  let name = '';
  while (NAME_CHAR.test(cur.ch() ?? '')) {
    name += cur.ch();
    cur.advance();
  }
  return name;
}

function readWord(cur: Cursor, line: number, lookup: (name: string) => string): string {
  let value = '';
  for (;;) {
    const c = cur.ch();
    if (c === undefined || c === ' ' || c === '\t' || c === '\n') return value;
    if (c === "'") {
      value += readSingleQuoted(cur);
    } else if (c === '"') {
      value += readDoubleQuoted(cur, lookup);
    } else if (c === '\\') {
      const next = cur.peek();
      if (next === '\n') cur.advance(2);              // line continuation
      else if (next === undefined) { value += '\\'; cur.advance(); }
      else { value += next; cur.advance(2); }
    } else if (c === '$') {
      value += readExpansion(cur, lookup);
    } else if (c === '`' || (c === '<' && cur.peek() === '(')) {
      throw new SyntaxFailure(cur.line, 'command substitution is not allowed');
    } else if (OPERATORS.has(c)) {
      throw new SyntaxFailure(line, 'unsupported syntax');
    } else {
      value += c;
      cur.advance();
    }
  }
}

function readSingleQuoted(cur: Cursor): string {
  const openLine = cur.line;
  const end = cur.text.indexOf("'", cur.pos + 1);
  if (end < 0) throw new SyntaxFailure(openLine, 'unterminated quote', true);
  const inside = cur.text.slice(cur.pos + 1, end);
  cur.advance(end + 1 - cur.pos);
  return inside;
}

function readDoubleQuoted(cur: Cursor, lookup: (name: string) => string): string {
  const openLine = cur.line;
  cur.advance();
  let value = '';
  for (;;) {
    const c = cur.ch();
    if (c === undefined) throw new SyntaxFailure(openLine, 'unterminated quote', true);
    if (c === '"') {
      cur.advance();
      return value;
    }
    if (c === '\\') {
      const next = cur.peek();
      if (next === '"' || next === '\\' || next === '$' || next === '`') {
        value += next;
        cur.advance(2);
      } else {
        value += '\\';
        cur.advance();
      }
    } else if (c === '$') {
      value += readExpansion(cur, lookup);
    } else if (c === '`') {
      throw new SyntaxFailure(cur.line, 'command substitution is not allowed');
    } else {
      value += c;
      cur.advance();
    }
  }
}

const BRACED_PLAIN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BRACED_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*):-([^]*)$/;

function readExpansion(cur: Cursor, lookup: (name: string) => string): string {
  const next = cur.peek();
  if (next === '(') throw new SyntaxFailure(cur.line, 'command substitution is not allowed');
  if (next === '{') {
    const line = cur.line;
    const close = cur.text.indexOf('}', cur.pos + 2);
    if (close < 0) throw new SyntaxFailure(line, 'unsupported syntax');
    const inner = cur.text.slice(cur.pos + 2, close);
    cur.advance(close + 1 - cur.pos);
    if (BRACED_PLAIN.test(inner)) return lookup(inner);
    const withDefault = BRACED_DEFAULT.exec(inner);
    if (withDefault !== null) {
      // config.md §2: `$(…)` is an error anywhere, a default value included (it would never run here either).
      if (/\$\(|`|<\(/.test(withDefault[2] ?? '')) throw new SyntaxFailure(line, 'command substitution is not allowed');
      const current = lookup(withDefault[1] ?? '');
      return current !== '' ? current : (withDefault[2] ?? '');
    }
    throw new SyntaxFailure(line, 'unsupported syntax');
  }
  if (next !== undefined && NAME_START.test(next)) {
    cur.advance();
    return lookup(readName(cur));
  }
  cur.advance();
  return '$';
}

/**
 * `${VAR}` / `$VAR` / `${VAR:-default}` expansion of list items (config.md §3, type `list`).
 * Never executes anything: `$(` stays literal text here, since the value came from single quotes.
 */
export function expandItem(item: string, lookup: (name: string) => string): string {
  return item.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_match, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const value = lookup(braced ?? bare ?? '');
      if (value === '' && fallback !== undefined) return fallback;
      return value;
    });
}
