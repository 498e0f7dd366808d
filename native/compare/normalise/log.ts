// Log normaliser (ARCHITECTURE "Parity harness"): timestamps, durations, PIDs, temp paths and the facts of
// the machine the harness runs on (MAC, server id) become tokens; so do the figures that depend on the
// compressor's build rather than on our code (compressed size, ratio). Everything else must match verbatim.
import { replaceLiterals, tokeniseTempNames, type Replacements } from './tokens.js';

const RULES: readonly (readonly [RegExp, string])[] = [
  [/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '<TS> '],
  [/\bPID \d+/g, 'PID <PID>'],
  [/\b127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>'],   // the loopback sinks of each sandbox
  [/^(<TS> \[INFO\] Duration: )\d\d:\d\d:\d\d$/, '$1<DURATION>'],
  [/^(<TS> \[INFO\] Server MAC Address: ).*$/, '$1<MAC>'],
  [/^(<TS> \[INFO\] Server Unique ID: )\d{16}$/, '$1<SERVER_ID>'],
  [/^(<TS> \[INFO\] Size: )\d+(\.\d)? (B|KiB|MiB|GiB|TiB)$/, '$1<SIZE>'],
  [/^(<TS> \[INFO\] Compression ratio: )[\d.]+%$/, '$1<RATIO>'],
  [/\b(\d+(\.\d)? (B|KiB|MiB|GiB|TiB)) (→|->) \d+(\.\d)? (B|KiB|MiB|GiB|TiB)/g, '$1 $4 <SIZE>'],
  [/\(\d+(\.\d)? (B|KiB|MiB|GiB|TiB), ratio [\d.]+%\)/g, '(<SIZE>, ratio <RATIO>)'],
];

export function normaliseLogLine(line: string, replacements: Replacements = []): string {
  let out = tokeniseTempNames(replaceLiterals(line, replacements));
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

export function normaliseLog(text: string, replacements: Replacements = []): string {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((line) => `${normaliseLogLine(line, replacements)}\n`).join('');
}
