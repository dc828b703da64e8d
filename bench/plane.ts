/**
 * Plane projection benchmarks, against the test Plane server over real HTTP, with the real
 * embedded core, client, provider, projection and cursor file:
 *  1. Requests per run life — a passive run through queued → running → needs approval →
 *     running → checks fail → done — against the target (1 create, ≤ 1 update per column
 *     change, ≤ 1 comment per milestone): without coalescing, with the default 1 s and steps
 *     further apart than that (a real run), and with a whole life inside one settle window.
 *  2. Catch-up after an outage with 200 runs, in time scaled 60:1 (Plane's 60 requests per
 *     minute become 60 per second, a 10-minute outage 10 s, the 60 s backoff cap 1 s), so the
 *     real-time figure is the scaled one × 60; printed next to the floor the limit sets
 *     (requests needed / 60 per minute).
 * Usage: node bench/plane.ts
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { line } from './util.ts';
import { planeRig, type Rig } from '../test/plane/rig.ts';

const SCALE = 60;

function count(r: Rig, method: string, route: RegExp): number {
  return r.server.log.filter((l) => l.method === method && route.test(l.path) && l.status < 300)
    .length;
}

async function oneLife(r: Rig, gapMs: number): Promise<void> {
  const gap = (): Promise<void> => new Promise((res) => setTimeout(res, gapMs));
  const s = r.core.service;
  // Each run works in a folder of its own: the checks look at its files only.
  const cwd = mkdtempSync(join(r.ws.dir, 'run-'));
  const run = await s.createRun({ agent: 'manual', assignment: 'hello-file', cwd });
  await gap();
  await s.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
  await gap();
  const waiting = s.requestApproval(run.id, {
    action: 'commit',
    detail: 'git commit',
    timeoutSec: 60,
  });
  for (;;) {
    const [a] = await s.listApprovals({ run: run.id, status: 'pending' });
    if (a) {
      await s.decideApproval({ id: a.id, approve: true });
      break;
    }
    await new Promise((res) => setTimeout(res, 5));
  }
  await waiting;
  await gap();
  writeFileSync(join(cwd, 'files.txt'), 'x\n');
  // create-file claimed without the file: its check fails and it is reopened.
  await s.setTask({ run: run.id, task: 'create-file', status: 'completed' });
  await s.setTask({ run: run.id, task: 'list-files', status: 'completed' });
  await gap();
  writeFileSync(join(cwd, 'hello.txt'), 'hello\n');
  await s.setTask({ run: run.id, task: 'create-file', status: 'completed' });
}

/** Steps `gapMs` apart (a real run's steps are minutes apart; 0 is a burst). */
async function requestsPerLife(settleMs: number, gapMs: number): Promise<void> {
  const runs = 20;
  const r = await planeRig({ settleMs });
  const { projection } = r.projection();
  await projection.start();
  await Promise.all(Array.from({ length: runs }, () => oneLife(r, gapMs)));
  await projection.whenIdle();
  const creates = count(r, 'POST', /\/work-items\/$/) / runs;
  const updates = count(r, 'PATCH', /\/work-items\/[^/]+\/$/) / runs;
  const comments = count(r, 'POST', /\/comments\/$/) / runs;
  const label = `settle ${settleMs} ms, steps ${gapMs} ms apart`;
  line(`requests per run life (${label}): creates`, creates.toFixed(2), 'target 1');
  line(
    `  updates (≤ 4 column changes, ≤ 2 checklist-only changes)`,
    updates.toFixed(2),
    'target ≤ 1 per column change',
  );
  line(`  comments (4 milestones)`, comments.toFixed(2), 'target ≤ 1 per milestone');
  line(`  state lists (once per provider)`, String(count(r, 'GET', /\/states\/$/)), '');
  await r.close();
}

async function catchUp(): Promise<void> {
  const runs = 200;
  const r = await planeRig({
    rateLimit: { requests: 60, windowMs: 60_000 / SCALE },
    backoff: { baseMs: 1000 / SCALE, maxMs: 60_000 / SCALE },
    settleMs: 1000 / SCALE,
  });
  const { projection, client } = r.projection();
  await projection.start();
  await r.server.down();
  const outageStart = Date.now();
  for (let i = 0; i < runs; i++) {
    const run = await r.run();
    await r.core.service.setTask({ run: run.id, task: 'create-file', status: 'in_progress' });
    await r.core.service.cancelRun(run.id);
  }
  const outage = (10 * 60_000) / SCALE;
  await new Promise((res) => setTimeout(res, Math.max(0, outage - (Date.now() - outageStart))));
  const before = client.stats.total;
  const back = Date.now();
  await r.server.up();
  await projection.whenIdle();
  const took = Date.now() - back;
  const sent = r.server.log.filter((l) => l.status < 300).length;
  const floor = (sent / 60) * 60_000;
  line(
    'catch-up after a 10 min outage, 200 runs (scaled ×60)',
    `${((took * SCALE) / 60_000).toFixed(1)} min`,
    `measured ${took} ms scaled`,
  );
  line('  requests the backlog needed', String(sent), `${(sent / runs).toFixed(1)} per run`);
  line('  floor set by 60 requests/min', `${(floor / 60_000).toFixed(1)} min`, '');
  line('  requests tried while Plane was down', String(before), 'backoff doubling to 60 s');
  line(
    '  items in Plane / runs',
    `${r.server.items().length}/${runs}`,
    `violations ${r.server.violations}`,
  );
  await r.close();
}

process.stdout.write('== Plane projection (test Plane server, real HTTP)\n');
await requestsPerLife(0, 50);
await requestsPerLife(1000, 1500);
await requestsPerLife(1000, 0);
await catchUp();
