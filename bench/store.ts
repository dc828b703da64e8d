/** The store: task updates on small and huge runs, and listing 10,000 runs. */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedCore } from '../src/adapters/embedded.ts';
import { parseAgent, parseAssignment } from '../src/core/definitions/parse.ts';
import { benchManifest, line, median, ms, ratio, timeProcess } from './util.ts';

const AGENT = parseAgent('---\nbackend: passive\n---\nbench', '/bench/agents/bench.md');
const ASSIGNMENT = parseAssignment(
  '---\ntasks:\n  - id: a\n    title: A\n  - id: b\n    title: B\n    verify: [\"true\"]\n---\nbrief',
  '/bench/assignments/bench.md',
);

/**
 * The floor: a 4 KiB file replaced durably with nothing around it (temp file, write, fsync,
 * close, rename, every call synchronous), not through the store's own writer.
 */
function durableWrite(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export async function benchStore(): Promise<void> {
  process.stdout.write('\n== store (in process, as a serving core)\n');
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-store-'));
  // As a serving core (daemon, editor) does it: the state lock is held for the core's lifetime.
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir: join(ws, 'state'),
    userConfigDir: join(ws, 'none'),
    holdLock: 'bench',
  });
  try {
    const svc = core.service;
    const mk = async (): Promise<string> => {
      const m = benchManifest({ agent: AGENT, assignment: ASSIGNMENT, cwd: ws });
      await core.store.createRun(m, [{ type: 'nexus.agent.run.created', data: {} }]);
      return m.id;
    };
    const small = await mk();
    const big = await mk();
    // The big run: 10 MB of transcripts and 1,000 prior events.
    const attempts = join(core.store.runDir(big), 'attempts');
    for (let i = 1; i <= 10; i++)
      writeFileSync(join(attempts, `${String(i).padStart(2, '0')}.jsonl`), 'x'.repeat(1024 * 1024));
    for (let i = 0; i < 1000; i += 100) {
      await core.store.appendEvents(
        big,
        Array.from({ length: 100 }, (_, j) => ({
          type: 'nexus.log' as const,
          data: { attempt: 1, lines: [`line ${i + j} `.repeat(8)] },
        })),
      );
    }
    const time = async (id: string, n: number): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await svc.setTask({
          run: id,
          task: 'a',
          status: i % 2 ? 'in_progress' : 'pending',
          by: 'bench',
        });
        out.push(performance.now() - t0);
      }
      return out;
    };
    await time(small, 20);
    await time(big, 20);
    const floor: number[] = [];
    const s: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      durableWrite(join(ws, 'floor.json'), 'x'.repeat(4096));
      floor.push(performance.now() - t0);
      s.push(...(await time(small, 1)));
      b.push(...(await time(big, 1)));
    }
    line('durable 4 KiB file write, bare fs (baseline: the floor)', ms(median(floor)));
    line('task update, new run', ms(median(s)), `${ratio(median(s) / median(floor))} of the floor`);
    line(
      'task update, run with 10 MB transcripts + 1,000 events',
      ms(median(b)),
      `${ratio(median(b) / median(s))} of the new run's (flat = 1.0; target <= 1 ms)`,
    );
  } finally {
    await core.close();
  }

  process.stdout.write('\n== listing 10,000 runs\n');
  const ws2 = mkdtempSync(join(tmpdir(), 'nexus-bench-list-'));
  const stateDir = join(ws2, 'state');
  const now = Date.now();
  for (let i = 0; i < 10_000; i++) {
    const m = benchManifest({
      agent: AGENT,
      assignment: ASSIGNMENT,
      cwd: ws2,
      message: `run ${i}`,
      now: new Date(now - i * 1000),
    });
    m.status = i % 7 === 0 ? 'running' : 'succeeded';
    mkdirSync(join(stateDir, 'runs', m.id, 'attempts'), { recursive: true });
    writeFileSync(join(stateDir, 'runs', m.id, 'run.json'), JSON.stringify(m));
  }
  const core2 = await openEmbeddedCore({
    workspace: ws2,
    stateDir,
    userConfigDir: join(ws2, 'none'),
  });
  await core2.store.reindex();
  const inproc: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    await core2.service.listRuns();
    inproc.push(performance.now() - t0);
  }
  await core2.close();
  // A serving core (the editor's, `nexus serve`) holds the lock and keeps the index it read.
  const serving = await openEmbeddedCore({
    workspace: ws2,
    stateDir,
    userConfigDir: join(ws2, 'none'),
    holdLock: 'bench',
  });
  const served: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t0 = performance.now();
    await serving.service.listRuns();
    if (i > 0) served.push(performance.now() - t0);
  }
  await serving.close();
  const cli = join(import.meta.dirname, '..', 'dist', 'cli.cjs');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXUS_WORKSPACE: ws2,
    NEXUS_STATE_DIR: stateDir,
    NEXUS_CONFIG_DIR: join(ws2, 'none'),
  };
  delete env.NEXUS_CONNECT;
  timeProcess(process.execPath, [cli, 'list', 'runs'], { env });
  const bare: number[] = [];
  const proc: number[] = [];
  for (let i = 0; i < 10; i++) {
    bare.push(timeProcess(process.execPath, ['-e', '0']));
    proc.push(timeProcess(process.execPath, [cli, 'list', 'runs', '--all'], { env }));
  }
  line('node -e 0 (baseline)', ms(median(bare)));
  line(
    'nexus list runs --all (10,000 runs, fresh process)',
    ms(median(proc)),
    `${ratio(median(proc) / median(bare))} of bare Node (target <= 100 ms)`,
  );
  line('listRuns in process (10,000 runs)', ms(median(inproc)));
  line(
    'listRuns in a serving core (10,000 runs, after its first)',
    ms(median(served)),
    `${ratio(median(served) / median(inproc))} of a store that reads the file`,
  );
}
