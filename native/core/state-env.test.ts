import { describe, expect, it } from 'vitest';
import { formatEnvLine, parseEnvFile } from './state-env.js';

describe('state.env format', () => {
  it.each([
    { value: 'plain' }, { value: "it's" }, { value: "''" }, { value: 'multi\nline\n' }, { value: '' },
    { value: '$(not run) `x` \\ "q"' },
  ])('round-trips $value', ({ value }) => {
    expect(parseEnvFile(formatEnvLine('KEY', value)).get('KEY')).toBe(value);
  });

  it('lets later lines win', () => {
    expect(parseEnvFile("A='1'\nB='x'\nA='2'\n").get('A')).toBe('2');
  });

  it('refuses garbage', () => {
    expect(() => parseEnvFile('A=unquoted\n')).toThrow(/malformed/);
  });
});
