/**
 * `node bench/profile.ts`: where a fresh `nexus` process spends its time, per path (`--help`,
 * `task set` embedded and connected, `list runs --all` over 10,000 runs). Each call runs under
 * `--cpu-prof`; samples are mapped back through the bundle's source maps to the source file
 * they ran in and summed by area (Node's own start-up, zod, our schemas, core, store, bridge).
 * The figures in docs/development.md ("Start-up profile") come from here. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchManifest, benchWorkspace, line, median, ms, startServe } from './util.ts';
import { parseAgent } from '../src/core/definitions/parse.ts';
import { mkdirSync, writeFileSync } from 'node:fs';

const repo = join(import.meta.dirname, '..');
const cli = join(repo, 'dist', 'cli.cjs');
const CALLS = Number(process.env.NEXUS_PROFILE_CALLS ?? 10);

interface Profile {
  nodes: Array<{
    id: number;
    callFrame: { url: string; lineNumber: number; columnNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Which area a source file belongs to. */
function areaOf(source: string): string {
  if (source.includes('node_modules/zod/')) return 'zod (library code, schema construction)';
  if (source.includes('node_modules/')) return 'other libraries';
  if (/src\/(core\/domain|protocol)\//.test(source))
    return 'our schemas (src/core/domain, protocol)';
  if (source.includes('src/adapters/store/')) return 'store (src/adapters/store)';
  if (source.includes('src/adapters/bridge/')) return 'bridge client';
  if (source.includes('src/cli/')) return 'cli (argument parsing, output)';
  return 'core and other adapters';
}

const maps = new Map<string, SourceMap | undefined>();
function sourceOf(url: string, line: number, col: number): string {
  if (!url.startsWith('file:')) return url;
  let map = maps.get(url);
  if (!maps.has(url)) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')));
    } catch {
      map = undefined;
    }
    maps.set(url, map);
  }
  const entry = map?.findEntry(line, col);
  return entry && 'originalSource' in entry ? entry.originalSource : url;
}

function summarize(dir: string): Map<string, number> {
  const areas = new Map<string, number>();
  const files = readdirSync(dir);
  for (const f of files) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const frame = byId.get(p.samples[i] as number)?.callFrame;
      const d = (p.timeDeltas[i] ?? 0) / 1000 / files.length;
      if (!frame) continue;
      const area = frame.url.startsWith('file:')
        ? areaOf(sourceOf(frame.url, frame.lineNumber, frame.columnNumber))
        : frame.url.startsWith('node:')
          ? "Node's own modules (bootstrap, ESM loader, fs)"
          : 'V8: compile, GC, native calls, idle (I/O waits)';
      areas.set(area, (areas.get(area) ?? 0) + d);
    }
  }
  return areas;
}

function profilePath(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): void {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-prof-'));
  const wall: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < CALLS + 2; i++) {
    let t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    const b = performance.now() - t0;
    t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        ...(i >= 2 ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=200'] : []),
        cli,
        ...args,
      ],
      { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr.toString()}`);
    // The first two warm the compile cache and are not counted; profiled calls are slower,
    // so the wall figures come from the shares below, not from these calls.
    if (i >= 2) {
      wall.push(performance.now() - t0);
      bare.push(b);
    }
  }
  const areas = summarize(dir);
  rmSync(dir, { recursive: true, force: true });
  const total = [...areas.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(
    `\n${name} (cpu-prof, ${CALLS} calls; node -e 0 here ${ms(median(bare))})\n`,
  );
  for (const [area, t] of [...areas].sort((a, b) => b[1] - a[1]))
    line(`  ${area}`, ms(t), `${((100 * t) / total).toFixed(0)}%`);
  line('  total sampled', ms(total), `wall under the profiler ${ms(median(wall))}`);
}

const { ws, env, id } = benchWorkspace(repo);
const set = ['task', 'set', id, 'create-file', 'in_progress'];

profilePath('nexus --help', ['--help'], env, ws);
profilePath('nexus task set, embedded', set, env, ws);

const daemon = await startServe(cli, ws, env);
try {
  profilePath('nexus task set, connected to nexus serve', set, env, ws);
} finally {
  daemon.kill('SIGTERM');
}

const many = mkdtempSync(join(tmpdir(), 'nexus-prof-list-'));
const agent = parseAgent('---\nbackend: passive\n---\nbench', '/bench/agents/bench.md');
for (let i = 0; i < 10_000; i++) {
  const m = benchManifest({
    agent,
    cwd: many,
    message: `run ${i}`,
    now: new Date(Date.now() - i * 1000),
  });
  mkdirSync(join(many, 'state', 'runs', m.id, 'attempts'), { recursive: true });
  writeFileSync(join(many, 'state', 'runs', m.id, 'run.json'), JSON.stringify(m));
}
const listEnv = { ...env, NEXUS_WORKSPACE: many, NEXUS_STATE_DIR: join(many, 'state') };
// The first listing builds the index; what is profiled is every later one.
spawnSync(process.execPath, [cli, 'list', 'runs'], { env: listEnv });
profilePath('nexus list runs --all (10,000 runs)', ['list', 'runs', '--all'], listEnv, many);
