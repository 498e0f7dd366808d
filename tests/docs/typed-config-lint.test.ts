// The typed configuration's guard (docs/ARCHITECTURE.md "The stage contract"): eslint refuses a comparison with the
// string 'true' or 'false' in native/, outside the loader (native/core/config*.ts).
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

async function messages(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

describe('eslint: no string booleans outside the configuration loader', () => {
  it('refuses value === \'true\' and value !== "false" in a stage, a side tool', async () => {
    const code = "export const on = (get: (k: string) => string): boolean => get('A') === 'true' && get('B') !== \"false\";\n";
    expect(await messages(code, 'native/storage/example.ts')).toHaveLength(2);
    expect(await messages(code, 'native/cli/commands/example.ts')).toHaveLength(2);
    expect((await messages(code, 'native/storage/example.ts'))[0]).toMatch(/context\.config/);
  }, 60_000);

  it('allows it in the loader, and a comparison with the boolean true anywhere', async () => {
    expect(await messages("export const t = (v: string): boolean => v === 'true';\n", 'native/core/config-view.ts')).toEqual([]);
    expect(await messages('export const t = (v: boolean | undefined): boolean => v === true;\n', 'native/storage/example.ts')).toEqual([]);
  }, 60_000);

  it('keeps the clock rule where both apply', async () => {
    expect(await messages('export const now = (): Date => new Date();\n', 'native/storage/example.ts')).toHaveLength(1);
  }, 60_000);
});
