/**
 * The sandbox's cost, each figure beside the same thing unconfined in the same run: starting a
 * minimal backend process (what every attempt pays once), and a typical check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShellCommandRunner } from '../src/adapters/exec/shell-runner.ts';
import {
  BubblewrapSandbox,
  probeBubblewrap,
  secretPaths,
} from '../src/adapters/sandbox/bubblewrap.ts';
import type { Sandbox } from '../src/core/ports.ts';
import { line, median } from './util.ts';

const ms = (x: number): string => `${x.toFixed(2)} ms`;

export async function benchSandbox(): Promise<void> {
  process.stdout.write('\n== sandbox (bubblewrap)\n');
  const probe = await probeBubblewrap();
  if (!probe.ok) {
    line('sandbox', 'n/a', probe.reason);
    return;
  }
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-sandbox-'));
  writeFileSync(join(ws, 'result.txt'), 'done\n');
  const state = join(ws, '.nexus', 'state');
  const box: Sandbox = new BubblewrapSandbox(probe.bin, {
    workspace: ws,
    hidden: [state, ...secretPaths()],
    readOnly: [join(ws, '.nexus')],
    writable: [],
  });
  const spawnMs = (bin: string, args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(bin, args, { cwd: ws, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${bin} failed (${r.status})`);
    return performance.now() - t0;
  };
  const bare: number[] = [];
  const boxed: number[] = [];
  for (let i = 0; i < 30; i++) {
    bare.push(spawnMs(process.execPath, ['-e', '0']));
    const w = box.wrap(process.execPath, ['-e', '0']);
    boxed.push(spawnMs(w.bin, w.args));
  }
  const b = median(bare);
  const s = median(boxed);
  line('attempt start-up: node -e 0 unconfined (baseline)', ms(b));
  line(
    'attempt start-up: node -e 0 in the sandbox',
    ms(s),
    `${(s / b).toFixed(2)}x (target <= 1.3x)`,
  );

  const plain = new ShellCommandRunner();
  const confined = new ShellCommandRunner({ sandboxFor: () => box });
  const check = 'grep -q done result.txt';
  const runCheck = async (r: ShellCommandRunner): Promise<number> => {
    const out = await r.run(check, { cwd: ws, timeoutMs: 10_000 });
    if (out.exitCode !== 0) throw new Error(`check failed: ${out.output}`);
    return out.durationMs;
  };
  const cb: number[] = [];
  const cs: number[] = [];
  for (let i = 0; i < 30; i++) {
    cb.push(await runCheck(plain));
    cs.push(await runCheck(confined));
  }
  const x = median(cb);
  const y = median(cs);
  line(`check \`${check}\` unconfined (baseline)`, ms(x));
  line(`check \`${check}\` in its sandbox`, ms(y), `${(y / x).toFixed(2)}x`);
}
