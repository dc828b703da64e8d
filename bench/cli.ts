/** The CLI as an agent calls it: a fresh process per call, embedded and connected. */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { line, median, ms, ratio, timeProcess } from './util.ts';

const CALLS = 30;

export async function benchCli(repo: string): Promise<void> {
  process.stdout.write('== CLI (fresh process per call, median of 30)\n');
  const ws = mkdtempSync(join(tmpdir(), 'nexus-bench-'));
  cpSync(join(repo, 'examples', 'workspace', '.nexus'), join(ws, '.nexus'), { recursive: true });
  const cli = join(repo, 'dist', 'cli.mjs');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NEXUS_WORKSPACE: ws,
    NEXUS_CONFIG_DIR: join(ws, 'none'),
  };
  delete env.NEXUS_RUN_ID;
  delete env.NEXUS_CONNECT;
  const init = JSON.parse(
    (
      await capture(
        process.execPath,
        [cli, 'init', '--json', '--agent', 'manual', '--assignment', 'hello-file'],
        ws,
        env,
      )
    ).trim(),
  ) as { id: string };
  // Warm the compile cache and the page cache, as on any machine after the first call.
  for (let i = 0; i < 3; i++)
    timeProcess(process.execPath, [cli, 'task', 'set', init.id, 'create-file', 'in_progress'], {
      cwd: ws,
      env,
    });
  const bare: number[] = [];
  const set: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    // Interleaved, so a burst of load elsewhere hits both series alike.
    bare.push(timeProcess(process.execPath, ['-e', '0']));
    set.push(
      timeProcess(
        process.execPath,
        [cli, 'task', 'set', init.id, 'create-file', i % 2 ? 'in_progress' : 'pending'],
        { cwd: ws, env },
      ),
    );
  }
  const base = median(bare);
  line('node -e 0 (baseline)', ms(base));
  line(
    'nexus task set, embedded',
    ms(median(set)),
    `${ratio(median(set) / base)} of bare Node (target <= 1.5x)`,
  );

  // Connected: a daemon holds the state; the CLI goes over the bridge.
  const daemon = spawn(process.execPath, [cli, 'serve'], {
    cwd: ws,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  daemon.stdout.on('data', (d: Buffer) => (out += d.toString()));
  for (let i = 0; i < 100 && !out.includes('bridge'); i++)
    await new Promise((r) => setTimeout(r, 50));
  try {
    for (let i = 0; i < 3; i++)
      timeProcess(process.execPath, [cli, 'task', 'set', init.id, 'create-file', 'in_progress'], {
        cwd: ws,
        env,
      });
    const bare2: number[] = [];
    const conn: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      bare2.push(timeProcess(process.execPath, ['-e', '0']));
      conn.push(
        timeProcess(
          process.execPath,
          [cli, 'task', 'set', init.id, 'create-file', i % 2 ? 'in_progress' : 'pending'],
          { cwd: ws, env },
        ),
      );
    }
    line(
      'nexus task set, connected to nexus serve',
      ms(median(conn)),
      `${ratio(median(conn) / median(bare2))} of bare Node (target <= 1.5x)`,
    );
  } finally {
    daemon.kill('SIGTERM');
  }
}

function capture(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}
