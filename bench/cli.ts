/** The CLI as an agent calls it: a fresh process per call, embedded and connected. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
  const cli = join(repo, 'dist', 'cli.cjs');
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
    // The floor of this transport: a bare Node script making the same POST /rpc (no workspace
    // lookup, no argument parsing, no output formatting), read from core.json and the token.
    const floorScript = join(ws, '.nexus', 'bench-rpc-floor.cjs');
    writeFileSync(floorScript, rpcFloorScript(join(ws, '.nexus', 'state'), init.id));
    const check = spawnSync(process.execPath, [floorScript, 'pending'], { encoding: 'utf8' });
    if (check.status !== 0 || !check.stdout.includes('"result"'))
      throw new Error(`the POST /rpc floor script failed: ${check.stdout}${check.stderr}`);
    const bare2: number[] = [];
    const conn: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const status = i % 2 ? 'in_progress' : 'pending';
      bare2.push(timeProcess(process.execPath, ['-e', '0']));
      conn.push(
        timeProcess(process.execPath, [cli, 'task', 'set', init.id, 'create-file', status], {
          cwd: ws,
          env,
        }),
      );
      floor.push(timeProcess(process.execPath, [floorScript, status], { cwd: ws, env }));
    }
    line(
      'nexus task set, connected to nexus serve',
      ms(median(conn)),
      `${ratio(median(conn) / median(bare2))} of bare Node (target <= 1.5x)`,
    );
    line(
      '  floor: a bare node script making the same POST /rpc',
      ms(median(floor)),
      `${ratio(median(floor) / median(bare2))} of bare Node`,
    );
  } finally {
    daemon.kill('SIGTERM');
  }
}

/**
 * A CommonJS script that sets the task over `POST /rpc` and exits: nothing else. It writes the
 * request on a `node:net` socket, as the CLI's client does (bridge/one-shot.ts), so the floor
 * is the transport's and not `node:http`'s.
 */
function rpcFloorScript(stateDir: string, run: string): string {
  return `const { readFileSync, writeSync } = require('node:fs');
const { connect } = require('node:net');
const dir = ${JSON.stringify(stateDir)};
const info = JSON.parse(readFileSync(dir + '/core.json', 'utf8'));
const token = readFileSync(dir + '/bridge-token', 'utf8').trim();
const url = new URL(info.url);
const body = JSON.stringify({ method: 'tasks.set', params: { run: ${JSON.stringify(run)}, task: 'create-file', status: process.argv[2] } });
const socket = connect({ host: url.hostname, port: Number(url.port) }, () =>
  socket.write('POST /rpc HTTP/1.1\\r\\nHost: ' + url.host + '\\r\\nAuthorization: Bearer ' + token +
    '\\r\\nContent-Type: application/json\\r\\nContent-Length: ' + Buffer.byteLength(body) +
    '\\r\\nConnection: close\\r\\n\\r\\n' + body));
let text = '';
socket.on('data', (c) => (text += c));
socket.on('end', () => {
  if (!text.startsWith('HTTP/1.1 200 ')) process.exitCode = 1;
  writeSync(1, text.slice(text.indexOf('\\r\\n\\r\\n') + 4, 200) + '\\n');
});
`;
}
