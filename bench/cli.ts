/** The CLI as an agent calls it: a fresh process per call, embedded and connected. */
import { join } from 'node:path';
import {
  benchWorkspace,
  line,
  median,
  ms,
  peakRssKiB,
  ratio,
  startServe,
  timeProcess,
} from './util.ts';

const CALLS = 30;

export async function benchCli(repo: string): Promise<void> {
  process.stdout.write('== CLI (fresh process per call, median of 30)\n');
  const cli = join(repo, 'dist', 'cli.mjs');
  const { ws, env, id } = benchWorkspace(repo);
  const init = { id };
  // Warm the compile cache and the page cache, as on any machine after the first call.
  for (let i = 0; i < 3; i++)
    timeProcess(process.execPath, [cli, 'task', 'set', init.id, 'create-file', 'in_progress'], {
      cwd: ws,
      env,
    });
  const bare: number[] = [];
  const set: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    // Interleaved, so a burst of load elsewhere hits every series alike.
    bare.push(timeProcess(process.execPath, ['-e', '0']));
    set.push(
      timeProcess(
        process.execPath,
        [cli, 'task', 'set', init.id, 'create-file', i % 2 ? 'in_progress' : 'pending'],
        { cwd: ws, env },
      ),
    );
    help.push(timeProcess(process.execPath, [cli, '--help'], { cwd: ws, env }));
  }
  const base = median(bare);
  line('node -e 0 (baseline)', ms(base));
  line(
    'nexus task set, embedded',
    ms(median(set)),
    `${ratio(median(set) / base)} of bare Node (target <= 1.5x)`,
  );
  line(
    'nexus --help',
    ms(median(help)),
    `${ratio(median(help) / base)} of bare Node (target <= 1.3x)`,
  );
  const rss = peakRssKiB(
    process.execPath,
    [cli, 'task', 'set', init.id, 'create-file', 'pending'],
    {
      cwd: ws,
      env,
    },
  );
  const bareRss = peakRssKiB(process.execPath, ['-e', '0']);
  if (rss !== undefined && bareRss !== undefined)
    line(
      'peak RSS of nexus task set, embedded',
      `${(rss / 1024).toFixed(1)} MiB`,
      `${ratio(rss / bareRss)} of bare Node's ${(bareRss / 1024).toFixed(1)} MiB`,
    );
  else line('peak RSS of nexus task set', 'n/a', '(needs /usr/bin/time)');

  // Connected: a daemon holds the state; the CLI goes over the bridge.
  const daemon = await startServe(cli, ws, env);
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
