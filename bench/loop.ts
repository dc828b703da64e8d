/**
 * Orchestration overhead per attempt: from the backend's exit to the next backend spawn, with
 * everything real but the model (a backend that returns at once): reports through the durable
 * outbox into the store, the checklist read back, the nudge built.
 */
import { NO_SANDBOX } from '../src/adapters/sandbox/bubblewrap.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/adapters/clock.ts';
import { openEmbeddedCore } from '../src/adapters/embedded.ts';
import { ShellCommandRunner } from '../src/adapters/exec/shell-runner.ts';
import { ReportOutbox } from '../src/adapters/bridge/outbox.ts';
import { writeFileAtomic } from '../src/adapters/store/atomic.ts';
import { parseAgent, parseAssignment } from '../src/core/definitions/parse.ts';
import { runAttemptLoop } from '../src/core/loop.ts';
import { buildPayload } from '../src/core/run-factory.ts';
import { RunnerState } from '../runner/state.ts';
import { benchManifest, line, median, ms, ratio } from './util.ts';

export async function benchLoop(): Promise<void> {
  process.stdout.write('\n== attempt loop (scripted backend, real store and outbox)\n');
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-loop-'));
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir: join(ws, 'state'),
    userConfigDir: join(ws, 'none'),
  });
  try {
    const agent = parseAgent(
      '---\nbackend: claude\nlimits:\n  max_attempts: 60\n---\nbench',
      '/bench/agents/a.md',
    );
    const assignment = parseAssignment(
      '---\ntasks:\n  - id: never\n    title: Never done\n---\nb',
      '/bench/assignments/b.md',
    );
    const m = benchManifest({ agent, assignment, cwd: ws });
    await core.store.createRun(m, []);
    const payload = buildPayload(m, agent, assignment, [], []);
    const outbox = await ReportOutbox.open(join(ws, 'outbox.jsonl'));
    const state = new RunnerState(core.service, m.id, outbox, 0, () => undefined);
    const gaps: number[] = [];
    let lastExit = 0;
    await runAttemptLoop(
      payload,
      {
        backend: {
          name: 'claude',
          async runAttempt() {
            const t = performance.now();
            if (lastExit) gaps.push(t - lastExit);
            lastExit = performance.now();
            return {
              ok: true,
              sessionId: 's',
              usage: undefined,
              finalText: 'ok',
              failure: undefined,
            };
          },
        },
        state,
        commands: new ShellCommandRunner(),
        clock: systemClock,
        approvals: { request: async () => ({ approved: false, reason: 'bench' }) },
        env: {},
        checkEnv: {},
        sandbox: NO_SANDBOX,
        transcriptFor: (n) => ({
          absolute: join(ws, `${n}.jsonl`),
          relative: `attempts/${n}.jsonl`,
        }),
      },
      new AbortController().signal,
    );
    await outbox.close();
    const floor: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = performance.now();
      await writeFileAtomic(join(ws, 'floor.json'), 'x'.repeat(4096));
      floor.push(performance.now() - t0);
    }
    const g = median(gaps.slice(5));
    line('atomic 4 KiB file write (baseline)', ms(median(floor)));
    line(
      'orchestration overhead per attempt (median of 55)',
      ms(g),
      `${ratio(g / median(floor))} of the floor (target <= 20 ms)`,
    );
  } finally {
    await core.close();
  }
}
