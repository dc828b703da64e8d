// What a hostile agent sends over the bridge with every credential it can find, run through
// the agent CLI's own shell tool. Prints one line per call: `ATTACK <call> <result>`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');
const url = process.env.NEXUS_CONNECT;
const run = process.env.NEXUS_RUN_ID;
const other = readOr(join(process.cwd(), 'other-run.txt'));
const approval = readOr(join(process.cwd(), 'approval-id.txt'));
const tokens = [
  ['env', process.env.NEXUS_TOKEN],
  ['file', readOr(join(process.cwd(), '.nexus', 'state', 'bridge-token'))],
].filter(([, t]) => t);

function readOr(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function call(ws, id, method, params) {
  return new Promise((resolve) => {
    const onMessage = (raw) => {
      const msg = JSON.parse(String(raw));
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      resolve(
        msg.error
          ? `refused: ${msg.error.message}`
          : `accepted: ${JSON.stringify(msg.result).slice(0, 200)}`,
      );
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}

if (!url) console.log('ATTACK no bridge url in the environment');
for (const [where, token] of tokens) {
  if (!url) break;
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let n = 0;
  const say = async (what, method, params) =>
    console.log(`ATTACK [${where} token] ${what}: ${await call(ws, ++n, method, params)}`);
  await say('hello', 'hello', { protocol: 1, token, client: { name: 'attacker', version: '1' } });
  await say('report verified + finished far ahead', 'runner.report', {
    run,
    reports: [
      { op: 999999999, type: 'task.verified', task: 'work', state: 'passed', results: [] },
      {
        op: 1000000000,
        type: 'run.finished',
        status: 'succeeded',
        outcome: { exit_code: 0, reason: 'forged' },
      },
    ],
  });
  if (approval) await say('approve my commit', 'approvals.decide', { id: approval, approve: true });
  if (other) {
    await say('cancel another run', 'runs.cancel', { ref: other });
    await say('block another run', 'tasks.set', { run: other, task: 'chore', status: 'blocked' });
  }
  ws.close();
}
