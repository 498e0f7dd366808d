// The stage contract's env files (ARCHITECTURE: context.env, state.env): `KEY='value'` lines, single-quoted
// so Bash can source them; later lines win. Values may span lines inside the quotes.

export function quoteEnvValue(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

export function formatEnvLine(key: string, value: string): string {
  return `${key}=${quoteEnvValue(value)}\n`;
}

/** Parses what formatEnvLine writes. Throws on anything else: these files are ours, so garbage is a bug. */
export function parseEnvFile(text: string): Map<string, string> {
  const result = new Map<string, string>();
  let pos = 0;
  while (pos < text.length) {
    if (text[pos] === '\n') {
      pos += 1;
      continue;
    }
    const eq = text.indexOf('=', pos);
    const key = eq < 0 ? '' : text.slice(pos, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) || text[eq + 1] !== "'") {
      throw new Error(`malformed env line at offset ${pos}: ${JSON.stringify(text.slice(pos, pos + 40))}`);
    }
    pos = eq + 1;
    let value = '';
    // A value is a run of 'quoted' pieces joined by \' (the escaped quote).
    for (;;) {
      const close = text.indexOf("'", pos + 1);
      if (close < 0) throw new Error(`unterminated value for ${key}`);
      value += text.slice(pos + 1, close);
      pos = close + 1;
      if (text.startsWith("\\''", pos)) {
        value += "'";
        pos += 2;
        continue;
      }
      break;
    }
    if (pos < text.length && text[pos] !== '\n') throw new Error(`trailing text after ${key}`);
    result.set(key, value);
  }
  return result;
}
