import { describe, expect, it } from 'vitest';
import { parseEnvText } from './config-parse.js';

const outside = (name: string): string | undefined => ({ BASE_DIR: '/opt/pb', HOME: '/root' } as Record<string, string>)[name];
const parse = (text: string) => parseEnvText(text, 'backup.env', outside);
const valueOf = (text: string, key: string) => parse(text).assignments.filter((a) => a.key === key).at(-1)?.value;

describe('parseEnvText values (config.md §2)', () => {
  it.each([
    { rule: 'unquoted', text: 'K=abc', want: 'abc' },
    { rule: 'export prefix', text: 'export K=abc', want: 'abc' },
    { rule: 'inline comment after whitespace', text: 'K=abc # note', want: 'abc' },
    { rule: 'hash inside a word is literal', text: 'K=a#b', want: 'a#b' },
    { rule: 'BASE_DIR expansion', text: 'K="${BASE_DIR}/backup"', want: '/opt/pb/backup' },
    { rule: 'earlier key beats environment', text: 'HOME=/x\nK=$HOME/y', want: '/x/y' },
    { rule: 'environment lookup', text: 'K=$HOME', want: '/root' },
    { rule: 'undefined name is empty', text: 'K="[$NOPE]"', want: '[]' },
    { rule: 'default operator', text: 'K=${NOPE:-/d}', want: '/d' },
    { rule: 'single quotes are literal', text: "K='$HOME `x` $(y)'", want: '$HOME `x` $(y)' },
    { rule: 'double-quote escapes', text: 'K="\\"\\\\\\$\\`\\n"', want: '"\\$`\\n' },
    { rule: 'adjacent pieces', text: `K="x"'y'z`, want: 'xyz' },
    { rule: 'multi-line double quotes', text: 'K="a\nb"', want: 'a\nb' },
    { rule: 'unquoted backslash escapes', text: 'K=a\\ b', want: 'a b' },
    { rule: 'lone dollar stays', text: 'K="$ 5"', want: '$ 5' },
    { rule: 'last assignment wins', text: 'K=1\nK=2', want: '2' },
  ])('$rule', ({ text, want }) => {
    expect(parse(text).errors).toEqual([]);
    expect(valueOf(text, 'K')).toBe(want);
  });

  it('records the line where the statement starts', () => {
    expect(parse('\n# c\nA="x\ny"\nB=1').assignments.map((a) => [a.key, a.line])).toEqual([['A', 3], ['B', 5]]);
  });

  it('does not let the file redefine BASE_DIR for expansion', () => {
    expect(valueOf('BASE_DIR=/evil\nK=${BASE_DIR}', 'K')).toBe('/opt/pb');
  });
});

describe('parseEnvText refusals', () => {
  it.each([
    { rule: 'command substitution', text: 'A=1\nK=$(id)', want: 'backup.env:2: command substitution is not allowed' },
    { rule: 'backticks in double quotes', text: 'K="`id`"', want: 'backup.env:1: command substitution is not allowed' },
    { rule: 'arithmetic', text: 'K=$((1+1))', want: 'backup.env:1: command substitution is not allowed' },
    { rule: 'process substitution', text: 'K=<(ls)', want: 'backup.env:1: command substitution is not allowed' },
    { rule: 'array', text: 'K=(a b)', want: 'backup.env:1: unsupported syntax' },
    { rule: 'semicolon', text: 'K=1; L=2', want: 'backup.env:1: unsupported syntax' },
    { rule: 'command', text: 'source /etc/profile', want: 'backup.env:1: unsupported syntax' },
    { rule: 'other parameter expansion', text: 'K=${HOME#/}', want: 'backup.env:1: unsupported syntax' },
    { rule: 'unterminated quote names the opening line', text: 'A=1\nK="abc\nB=2', want: 'backup.env:2: unterminated quote' },
  ])('$rule', ({ text, want }) => {
    const result = parse(text);
    expect(result.errors).toEqual([want]);
    expect(result.assignments.some((a) => a.key === 'K')).toBe(false);
  });

  it('reports every bad line, not only the first', () => {
    expect(parse('K=$(a)\nL=`b`\nM=ok').errors).toEqual([
      'backup.env:1: command substitution is not allowed',
      'backup.env:2: command substitution is not allowed',
    ]);
  });
});
