// Plane with the real processes: `nexus serve` (the core host that projects), its runners, the
// openai backend against a scripted Chat Completions server, and the test Plane server. A real
// run moves its item through the states and its comments tell the story; a `/nexus` comment in
// Plane reaches the agent's next attempt; and a core killed with SIGKILL mid-sync, restarted,
// leaves Plane with every item and comment exactly once.
import assert from 'node:assert/strict';
import { after, suite, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openEmbeddedCore } from '../../src/adapters/embedded.ts';
import { readCursorFile } from '../../src/adapters/board/cursor-file.ts';
import { startDaemon, type Daemon } from '../builders/daemon.ts';
import { nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';
import { eventually, writePlaneConfig } from '../plane/rig.ts';
import { startPlaneServer, TEST_KEY } from '../plane/server.ts';
import { startChatServer } from '../servers/openai-chat.ts';

const SECRET = 'whsec-serve-test-not-real';
const cleanup: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

const planeEnv = {
  NEXUS_PLANE_API_KEY: TEST_KEY,
  NEXUS_PLANE_WEBHOOK_SECRET: SECRET,
  // Runners here use the real backends, not the scripted test backend.
  NEXUS_TEST_BACKEND: '',
};

async function serve(ws: TempWorkspace, env: Record<string, string>): Promise<Daemon> {
  const d = await startDaemon(ws, [], env);
  cleanup.push(() => d.stop());
  return d;
}

void suite('Plane under nexus serve', () => {
  test('an openai-backend run moves its item; a /nexus comment reaches the next attempt, once', async () => {
    const plane = await startPlaneServer({ rateLimit: { requests: 600, windowMs: 1000 } });
    cleanup.push(() => plane.down());
    const prompts: string[] = [];
    const model = await startChatServer([
      async (req) => {
        prompts.push(req.lastUserText);
        // While attempt 1 runs, someone in Plane asks for more.
        const item = plane.item(runId)!;
        assert.equal(await plane.comment(item.id, '/nexus also say hello in French'), 200);
        return { shell: 'nexus task set create-file completed --note "trust me"' };
      },
      { text: 'All done!' },
      (req) => {
        prompts.push(req.lastUserText);
        return { shell: 'env > agent-env.txt' };
      },
      { shell: 'echo hello > hello.txt && nexus task set create-file completed' },
      { shell: 'ls > files.txt && nexus task set list-files completed' },
      { text: 'Both tasks are done.' },
    ]);
    cleanup.push(() => model.close());
    const ws = tempWorkspace({ withExamples: true });
    ws.write(
      '.nexus/agents/real.md',
      [
        '---',
        'backend: openai',
        'model: test-model',
        'limits:',
        '  max_attempts: 3',
        '---',
        'A test agent.',
      ].join('\n'),
    );
    writePlaneConfig(ws, plane);
    const daemon = await serve(ws, {
      ...planeEnv,
      OPENAI_BASE_URL: `${model.url}/v1`,
      OPENAI_API_KEY: 'test-key',
    });
    plane.webhook = { url: `${daemon.url.replace(/^ws/, 'http')}/hooks/plane`, secret: SECRET };

    const init = await nexus(ws, [
      'init',
      '--agent',
      'real',
      '--assignment',
      'hello-file',
      '--json',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const runId = (JSON.parse(init.stdout) as { id: string }).id;
    await eventually(() => plane.item(runId) !== undefined, 'the item for the new run');
    assert.equal(plane.groupOf(plane.item(runId)!), 'unstarted');
    // Queued before the run starts: the first attempt carries it.
    assert.equal(await plane.comment(plane.item(runId)!.id, '/nexus use two spaces'), 200);

    const run = await nexus(ws, ['run', '--resume', runId, '--json']);
    assert.equal(run.code, 0, `${run.stderr}\n${daemon.output()}`);
    assert.match(prompts[0] ?? '', /plane:Alice Example \(via plane\):\n {4}use two spaces/);
    assert.doesNotMatch(prompts[0] ?? '', /French/);
    assert.match(prompts[1] ?? '', /create-file .*failed/, 'attempt 2 starts with the nudge');
    assert.match(prompts[1] ?? '', /also say hello in French/);
    assert.doesNotMatch(prompts[1] ?? '', /two spaces/, 'a message is carried once');

    await eventually(
      () => plane.groupOf(plane.item(runId)!) === 'completed',
      'the item in Done',
      30_000,
    );
    const item = plane.item(runId)!;
    await eventually(
      () => plane.commentsOf(item.id).some((c) => c.comment_html.includes('Run succeeded')),
      'the outcome comment',
    );
    const ours = plane
      .commentsOf(item.id)
      .filter((c) => c.external_source === 'nexus')
      .map((c) => c.comment_html);
    assert.equal(ours.length, 4, ours.join('\n'));
    assert.match(ours[0]!, /Message from plane:Alice Example queued .*use two spaces/);
    assert.match(ours[1]!, /Message from plane:Alice Example queued .*French/);
    assert.match(
      ours[2]!,
      /Attempt 1 ended: ok\.<\/p><p>Checks failed: create-file .*<\/p><p>Attempt 2 was nudged/,
    );
    assert.match(ours[3]!, /Run succeeded \(exit 0\)/);
    assert.match(item.description_html, /✓ verified/);
    const creates = plane.log.filter((l) => l.method === 'POST' && /work-items\/$/.test(l.path));
    assert.equal(creates.length, 1);
    // The core host holds Plane's key and webhook secret; the agent's processes see neither.
    const agentEnv = readFileSync(join(ws.dir, 'agent-env.txt'), 'utf8');
    assert.match(agentEnv, /NEXUS_RUN_ID=/, 'the file is the agent environment');
    assert.doesNotMatch(agentEnv, new RegExp(`${TEST_KEY}|${SECRET}|NEXUS_PLANE`));
  });

  test('core killed with SIGKILL mid-sync, restarted: every item and comment exactly once', async () => {
    const plane = await startPlaneServer({ rateLimit: { requests: 20, windowMs: 1000 } });
    cleanup.push(() => plane.down());
    const ws = tempWorkspace({ withExamples: true });
    writePlaneConfig(ws, plane, { limit: '{requests: 20, window_sec: 1}' });
    // 40 runs, each cancelled: an item and one outcome comment apiece (80 calls at 20/s).
    const core = await openEmbeddedCore({
      workspace: ws.dir,
      stateDir: ws.stateDir,
      userConfigDir: join(ws.dir, 'user-config'),
    });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const run = await core.service.createRun({ agent: 'manual', assignment: 'hello-file' });
      await core.service.cancelRun(run.id);
      ids.push(run.id);
    }
    await core.close();

    const first = await startDaemon(ws, [], planeEnv);
    await eventually(() => plane.items().length >= 15, '15 items in Plane', 30_000);
    await first.crash();
    const cut = plane.items().length;
    assert.ok(cut < 40, `killed mid-sync (${cut} of 40 items)`);
    const cursor = await readCursorFile(join(ws.stateDir, 'board', 'plane.json'));
    assert.ok(cursor, 'the cursor was saved before the kill');

    const second = await serve(ws, planeEnv);
    await eventually(
      () => plane.items().length === 40 && plane.project.comments.length === 40,
      'all 40 items and comments',
      60_000,
    );
    const status = await nexus(ws, ['board', 'sync', '--json']);
    assert.equal(status.code, 0, status.stderr);
    await eventually(async () => {
      const s = JSON.parse((await nexus(ws, ['board', 'sync', '--json'])).stdout) as Array<{
        state: string;
      }>;
      return s[0]?.state === 'idle';
    }, 'the restarted projection to be idle');
    assert.deepEqual(new Set(plane.items().map((i) => i.external_id)), new Set(ids));
    const keys = plane.project.comments.map((c) => c.external_id);
    assert.equal(new Set(keys).size, 40, 'no comment twice');
    for (const id of ids) {
      const item = plane.item(id)!;
      assert.equal(plane.groupOf(item), 'cancelled');
      assert.deepEqual(
        plane.commentsOf(item.id).map((c) => c.comment_html),
        ['<p>Run cancelled (exit 130): cancelled by user</p>'],
      );
    }
    assert.equal(plane.violations, 0);
    assert.ok(second.output().includes('nexus serve'));
  });
});
