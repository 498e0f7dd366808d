// The stage contract (docs/ARCHITECTURE.md "The stage contract") is one module, native/core/stage.ts: the domains, the
// stages, which stage writes which state key, the native stage signature. This test holds every other place that
// restates part of it to the module: the launcher and the legacy lists (statically here; tests/docs/domains.test.ts
// runs them), the flags.json schema, shims/ and their README, the legacy functions, the registry, the imports of
// the domains, the parity normaliser and the golden files. The formulas the normalisers hide are pinned with
// literal values elsewhere: the canary bucket in tests/cli/canary-bucket.test.ts (and tests/bats/canary-bucket.bats),
// the server id in tests/backup/server-id.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as stage from '../../native/core/stage.js';
import { DOMAINS, RUN_FACTS, STAGES, STATE_KEY_RULES, stateKeyDomain, stateKeyRule, type StageName } from '../../native/core/stage.js';
import * as normaliseEnv from '../../native/compare/normalise/env.js';
import { ALL_NATIVE_STAGES, buildRegistry, NATIVE_STAGES, NATIVE_STAGES_BY_DOMAIN, NATIVE_STAGES_NOT_DISPATCHED } from '../../native/registry.js';
import * as flags from '../../native/switch/flags.js';
import { NATIVE_DOMAINS } from '../../native/switch/native-domains.js';
import * as stages from '../../native/switch/stages.js';
import { REPO, repoFiles } from './repo-files.js';

const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');
const STAGE_NAMES = Object.keys(STAGES) as StageName[];
const TIERS = ['PRIMARY', 'SECONDARY', 'CLOUD'];

/** The rows of shims/README.md's table: shim → its cells (shim, domain, phase, function, reads, writes, spec). */
function shimRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of read('shims/README.md').split('\n')) {
    const match = /^\| `([a-z_]+)` \|/.exec(line);
    if (match?.[1] === undefined) continue;
    rows.set(match[1], line.split(' | ').map((cell) => cell.replace(/^\| |\s*\|$/g, '').trim()));
  }
  return rows;
}

/** The state keys a README "writes" cell names: the upper-case backticked names of its `state …` parts. */
function documentedKeys(writes: string): string[] {
  const keys: string[] = [];
  for (const part of writes.split(';')) {
    const at = part.indexOf('state `');
    if (at < 0) continue;
    for (const [, name] of part.slice(at).matchAll(/`([A-Z<][A-Z0-9_<>]*)`/g)) {
      if (name === undefined) continue;
      if (name.includes('<TIER>')) keys.push(...TIERS.map((tier) => name.replace('<TIER>', tier)));
      else keys.push(name);
    }
  }
  return keys;
}

/** Literal keys written by the code: `state_set KEY` in legacy/, `setState('KEY'` in native/. */
function writtenKeys(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of repoFiles()) {
    if (/^legacy\/.*\.sh$|^legacy\/bin\//.test(file)) {
      for (const [, key] of read(file).matchAll(/\bstate_set ["']?([A-Z][A-Z0-9_]*)\b(?!\$)/g)) if (key !== undefined && key !== 'KEY') found.set(key, file);
    } else if (/^native\/.*\.ts$/.test(file) && !file.endsWith('.test.ts')) {
      for (const [, key] of read(file).matchAll(/setState\('([A-Z][A-Z0-9_]*)'/g)) if (key !== undefined) found.set(key, file);
    }
  }
  return found;
}

describe('one list of domains: DOMAINS in native/core/stage.ts', () => {
  it('native/switch/flags.ts re-exports it (and the flag values) rather than keeping its own', () => {
    expect(flags.DOMAINS).toBe(stage.DOMAINS);
    expect(flags.FLAG_VALUES).toBe(stage.FLAG_VALUES);
  });

  it('the flags.json schema has one entry per domain', () => {
    expect(Object.keys((flags.FLAGS_SCHEMA.properties.defaults as { properties: object }).properties)).toEqual([...DOMAINS]);
  });

  it("bin/switch-mode's node-less --target names the same domains, in the same order", () => {
    const lists = [...read('bin/switch-mode').matchAll(/for domain in ([a-z ]+); do/g)].map((m) => (m[1] ?? '').trim().split(/\s+/));
    expect(lists.length).toBeGreaterThan(0);
    for (const list of lists) expect(list).toEqual([...DOMAINS]);
  });

  it('legacy METRICS_DOMAINS (metrics.sh) and the IMPL_ keys of orchestrator_migration_keys (orchestrator.sh)', () => {
    const metrics = /^METRICS_DOMAINS=\(([a-z ]+)\)$/m.exec(read('legacy/lib/metrics.sh'))?.[1]?.split(' ');
    expect(metrics).toEqual([...DOMAINS]);
    const impl = /for domain in ([A-Z ]+); do state_set "IMPL_\$\{domain\}"/.exec(read('legacy/lib/orchestrator.sh'))?.[1]?.split(' ');
    expect(impl).toEqual(DOMAINS.map((d) => d.toUpperCase()));
  });

  it('shims/README.md: each shim row names its stage\'s domain', () => {
    const rows = shimRows();
    expect([...rows.keys()].sort()).toEqual([...STAGE_NAMES].sort());
    for (const [shim, cells] of rows) expect(cells[1], shim).toBe(STAGES[shim as StageName].domain);
  });

  it('every stage is named after its domain (backup_*, storage_*, …) and every domain is a flag domain', () => {
    for (const name of STAGE_NAMES) {
      expect(DOMAINS).toContain(STAGES[name].domain);
      expect(name.startsWith(`${STAGES[name].domain}_`), name).toBe(true);
    }
  });
});

describe('one list of stages: STAGES in native/core/stage.ts', () => {
  it('native/switch/stages.ts re-exports it', () => {
    expect(stages.STAGES).toBe(STAGES);
  });

  it('each stage is a shim calling _stage with its own name, and a legacy function of that name', () => {
    const legacy = readdirSync(join(REPO, 'legacy', 'lib')).filter((n) => n.endsWith('.sh')).map((n) => read(`legacy/lib/${n}`)).join('\n');
    for (const name of STAGE_NAMES) {
      expect(read(`shims/${name}`), name).toContain(`_stage" --stage ${name} "$@"`);
      expect(new RegExp(`^${name}\\(\\) \\{`, 'm').test(legacy), `legacy function ${name}()`).toBe(true);
    }
  });
});

describe('the run facts of context.env: RUN_FACTS in native/core/stage.ts', () => {
  it('legacy orchestrator_context_keys lists the same facts in the same order after the configuration keys', () => {
    const listed = /CONTEXT_KEYS=\("\$\{CFG_ORDER\[@\]\}" "\$\{CONFIG_UNKNOWN\[@\]\}" ([A-Z_\s]+)\)/.exec(read('legacy/lib/orchestrator.sh'))?.[1];
    expect(listed?.trim().split(/\s+/)).toEqual([...RUN_FACTS]);
  });

  it('the shims README contract names each of them', () => {
    const contract = read('shims/README.md').slice(read('shims/README.md').indexOf('## Contract'));
    for (const fact of RUN_FACTS) expect(contract, fact).toContain(`\`${fact}\``);
  });
});

describe('one registry: native/registry.ts', () => {
  it('registers each native stage under its own domain, and every domain with a native stage is built', () => {
    const both = [...Object.entries(NATIVE_STAGES_BY_DOMAIN), ...Object.entries(NATIVE_STAGES_NOT_DISPATCHED)];
    for (const [domain, entries] of both) {
      for (const name of Object.keys(entries ?? {})) expect(STAGES[name as StageName].domain, name).toBe(domain);
      expect(NATIVE_DOMAINS.has(domain as stage.DomainName), domain).toBe(true);
    }
    const count = (map: object): number => Object.values(map).reduce((n: number, entries: object) => n + Object.keys(entries).length, 0);
    expect(Object.keys(NATIVE_STAGES)).toHaveLength(count(NATIVE_STAGES_BY_DOMAIN));
    expect(Object.keys(ALL_NATIVE_STAGES)).toHaveLength(count(NATIVE_STAGES_BY_DOMAIN) + count(NATIVE_STAGES_NOT_DISPATCHED));
    for (const domain of Object.keys(NATIVE_STAGES_NOT_DISPATCHED)) expect(Object.keys(NATIVE_STAGES_BY_DOMAIN)).not.toContain(domain);
  });

  it('refuses a stage filed under another domain, or a name that is not a stage', () => {
    const some = NATIVE_STAGES.backup_detect;
    expect(some).toBeDefined();
    if (some === undefined) return;
    expect(() => buildRegistry({ storage: { backup_detect: some } })).toThrow(/registered under storage, but its domain is backup/);
    expect(() => buildRegistry({ backup: { no_such_stage: some } as never })).toThrow(/not in STAGES/);
  });

  it('run-backup and run-stages take their stages from the registry, not from the domains one by one', () => {
    for (const file of ['native/cli/commands/run-backup.ts', 'native/tools/run-stages.ts']) {
      const text = read(file);
      expect(text, file).toContain('registry.js');
      expect(text, file).not.toMatch(/NATIVE_[A-Z]+_STAGES/);
    }
  });
});

describe('the domains take their contract from native/core, and switch/ and parity/ do not import each other both ways', () => {
  const imports = (prefix: string): [string, string][] => repoFiles().filter((f) => f.startsWith(prefix) && f.endsWith('.ts'))
    .flatMap((file) => [...read(file).matchAll(/from '([^']+)'/g)].map((m): [string, string] => [file, m[1] ?? '']));

  it('no stage domain (backup, security, notify, metrics, storage) imports from native/switch/', () => {
    const offending = ['native/backup/', 'native/security/', 'native/notify/', 'native/metrics/', 'native/storage/']
      .flatMap((dir) => imports(dir)).filter(([, from]) => /\/switch\//.test(from));
    expect(offending).toEqual([]);
  });

  it('native/parity/ does not import from native/switch/ (the shadow comparison uses the parity normalisers, one way)', () => {
    expect(imports('native/parity/').filter(([, from]) => /\/switch\//.test(from))).toEqual([]);
  });
});

describe('one table of state key ownership: STATE_KEY_RULES in native/core/stage.ts', () => {
  it('the parity normaliser files state keys with it', () => {
    expect(normaliseEnv.stateKeyDomain).toBe(stateKeyDomain);
  });

  it('every rule files its keys under its writers\' domain, except the security gate\'s (filed with the orchestrator)', () => {
    for (const rule of STATE_KEY_RULES) {
      for (const writer of rule.writers) {
        const domain = writer === 'orchestrator' ? undefined : STAGES[writer].domain;
        if (domain === undefined || writer === 'security_gate') continue;
        expect(rule.domain, `${String(rule.keys)} by ${writer}`).toBe(domain);
      }
    }
  });

  it('agrees with the "writes" column of shims/README.md, both ways', () => {
    const documented = new Map<StageName, string[]>();
    for (const [shim, cells] of shimRows()) documented.set(shim as StageName, documentedKeys(cells[5] ?? ''));
    for (const [shim, keys] of documented) {
      for (const key of keys) expect(stateKeyRule(key)?.writers, `${shim} writes ${key}`).toContain(shim);
    }
    // Each rule naming a stage as a writer names a key the README lists for that stage.
    for (const rule of STATE_KEY_RULES) {
      for (const writer of rule.writers) {
        if (writer === 'orchestrator') continue;
        expect((documented.get(writer) ?? []).some((key) => rule.keys.test(key)), `${String(rule.keys)} by ${writer}`).toBe(true);
      }
    }
  });

  it('covers every key the code writes by name (legacy state_set, native setState)', () => {
    const keys = writtenKeys();
    expect(keys.size).toBeGreaterThan(30);
    const unowned = [...keys].filter(([key]) => stateKeyRule(key) === undefined).map(([key, file]) => `${key} (${file})`);
    expect(unowned).toEqual([]);
  });

  it('covers every key of the golden files, and files it where the golden file has it', () => {
    const misfiled: string[] = [];
    let checked = 0;
    for (const file of repoFiles().filter((f) => /^golden\/[^/]+\/[^/]+\/state\.[a-z]+\.env$/.test(f))) {
      const domain = /state\.([a-z]+)\.env$/.exec(file)?.[1];
      for (const line of read(file).split('\n').filter((l) => l !== '')) {
        const key = line.slice(0, line.indexOf('='));
        checked += 1;
        if (stateKeyRule(key) === undefined || stateKeyDomain(key) !== domain) misfiled.push(`${file}: ${key}`);
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(misfiled).toEqual([]);
  });
});

describe('docs/ARCHITECTURE.md "How to add a native stage" shows the real smallest stage', () => {
  const section = ((): string => {
    const text = read('docs/ARCHITECTURE.md');
    const start = text.indexOf('## How to add a native stage');
    return text.slice(start, text.indexOf('\n## ', start + 1));
  })();

  it('its code block is native/backup/select-compressor.ts, whole', () => {
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(read('native/backup/select-compressor.ts'));
  });

  it('its registry line is the one in native/backup/index.ts, and the stage is in the registry', () => {
    expect(section).toContain('  backup_select_compressor: backupSelectCompressor,');
    expect(read('native/backup/index.ts')).toContain('  backup_select_compressor: backupSelectCompressor,\n');
    expect(NATIVE_STAGES.backup_select_compressor).toBeDefined();
  });
});
