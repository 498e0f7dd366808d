// `switch-mode server-id show | validate | reset [--yes]` on the ts side (run.md §8): the same arguments, lines,
// identity file and exit codes as legacy/bin/server-id. bin/switch-mode routes here when the `cli` flag is ts;
// with cli=bash or without node the legacy tool runs.
import { rmSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { isatty } from 'node:tty';
import { detectNames, loadIdentity } from '../../backup/detect.js';
import { esc } from '../../core/esc.js';
import { ExitCode, type ExitStatus } from '../../core/exit-code.js';
import { readIdentityState, type IdentityState } from '../../core/identity.js';
import { RunLog } from '../../core/log.js';
import { Redactor } from '../../core/redact.js';
import type { CliEnvironment } from '../environment.js';
import { legacyUsage } from '../legacy-usage.js';
import { err, out } from '../output.js';

const PROMPT = 'Regenerate the server ID? Notifications and dashboards keyed on the old one will change. [y/N]: ';

/** One answer line from the terminal, as `read -r -p PROMPT` (prompt on stderr, blanks trimmed; end of input: ''). */
async function ask(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    const line = await new Promise<string>((resolve) => {
      lines.once('line', resolve);
      lines.once('close', () => resolve(''));
    });
    return line.replace(/^[ \t]+|[ \t]+$/g, '');
  } finally {
    lines.close();
  }
}

/** confirm_reset: true to go on; a status to stop with (refused off a terminal without --yes, or cancelled). */
async function confirmReset(yes: boolean): Promise<true | ExitStatus> {
  if (yes) return true;
  if (!isatty(0)) {
    err('ERROR: reset needs --yes when not running on a terminal');
    return 2;
  }
  if (/^y(es)?$/i.test(await ask(PROMPT))) return true;
  out('Cancelled');
  return 0;
}

const isRegularFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

export async function runServerId(environment: CliEnvironment, args: readonly string[]): Promise<ExitStatus> {
  const usage = (): string => legacyUsage(environment.codeDir, 'server-id');
  const [command = '', ...rest] = args;
  let yes = false;
  for (const arg of rest) {
    if (arg === '--yes' || arg === '-y') yes = true;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write(usage());
      return 0;
    } else {
      err(`Unknown argument: ${esc(arg)}`);
      process.stderr.write(usage());
      return 2;
    }
  }
  // BASE_DIR as given (legacy: "${BASE_DIR:-$code_dir}"), so the printed path is the legacy one.
  const base = environment.env.BASE_DIR || environment.codeDir;
  const file = `${base}/config/.server_identity`;
  const exitCode = new ExitCode();
  const log = new RunLog({
    now: environment.now, debugLevel: 'standard', disableColours: true, redactor: new Redactor([]), exitCode,
    console: { write: (text) => process.stdout.write(text), isTTY: false },
  });
  const generate = async (): Promise<string> => loadIdentity(base, (await detectNames(environment.env)).short, log);
  switch (command) {
    case 'show': {
      out(`Server ID: ${await generate()}\nFile: ${file}`);
      return exitCode.current; // 1 when the file was corrupt and regenerated
    }
    case 'validate': {
      const state = readIdentityState(file);
      if (state.state === 'valid') out(`valid: ${state.id}`);
      else out(`${state.state}: ${file}`);
      return ({ valid: 0, missing: 1, corrupt: 2 } as const)[state.state];
    }
    case 'reset': {
      const state: IdentityState = readIdentityState(file);
      const old = state.state === 'valid' ? state.id : 'none';
      const confirmed = await confirmReset(yes);
      if (confirmed !== true) return confirmed;
      try {
        rmSync(file, { force: true });
      } catch {
        err(`ERROR: cannot remove ${file}`);
        return 2;
      }
      const id = await generate();
      if (!isRegularFile(file)) {
        err(`ERROR: cannot write ${file}`);
        return 2;
      }
      out(`Old ID: ${old}\nNew ID: ${id}`);
      return exitCode.current;
    }
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage());
      return 0;
    default:
      process.stderr.write(usage());
      return 2;
  }
}
