import { describe, expect, it } from 'vitest';
import { CommandRunner, runOnce } from './commands.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('collection commands (collect.md §1.3)', () => {
  it('keeps stdout as bytes and the first stderr line, with the exit status', async () => {
    const result = await runOnce(['sh', '-c', "printf 'caf\\351\\n'; echo 'first\nsecond' >&2; exit 3"], 5, env);
    expect(result.status).toBe(3);
    expect([...result.stdout]).toEqual([0x63, 0x61, 0x66, 0xe9, 0x0a]);
    expect(result.stderr.split('\n')[0]).toBe('first');
  });

  it('ends a command that outlives its timeout with 124, as timeout(1) reports it', async () => {
    const result = await runOnce(['sleep', '30'], 0.2, env);
    expect(result.status).toBe(124);
  });

  it('runs prefetched commands at most N at a time, and hands each result to the reader in the order asked', async () => {
    const runner = new CommandRunner(10, env, 2);
    // each command records when it starts and ends; the first sleeps longest
    const argv = (n: number, sleep: number) => ['sh', '-c', `echo start ${n} $(date +%s%N); sleep ${sleep}; echo end ${n} $(date +%s%N)`];
    const all = [argv(1, 0.4), argv(2, 0.1), argv(3, 0.1)];
    runner.prefetch(all);
    const outputs = [];
    for (const a of all) outputs.push((await runner.run(a)).stdout.toString());
    expect(outputs.map((o) => o.split(' ')[1])).toEqual(['1', '2', '3']);
    const times = outputs.map((o) => o.trim().split('\n').map((l) => BigInt(l.split(' ')[2] ?? '0')));
    const [one, two, three] = times as [bigint[], bigint[], bigint[]];
    expect(two[0]! < one[1]!).toBe(true);          // 2 ran while 1 was running: concurrency
    expect(three[0]! >= two[1]!).toBe(true);       // 3 waited for a free slot: the pool bound (2)
  });

  it('runs a command read twice twice (each result is read once, as legacy runs it each time)', async () => {
    const runner = new CommandRunner(10, env, 2);
    const a = await runner.run(['sh', '-c', 'date +%s%N']);
    const b = await runner.run(['sh', '-c', 'date +%s%N']);
    expect(a.stdout.toString()).not.toBe(b.stdout.toString());
  });
});
