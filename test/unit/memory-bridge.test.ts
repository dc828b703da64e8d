/**
 * Memory over the real bridge, served by a real core: an agent token may propose (for its own
 * run, attributed to the agent whatever it claims) and nothing else — approve, reject, add,
 * edit, forget, list and search are refused and recorded in its run's log; a runner token
 * cannot approve either; a person's client hears proposals and changes live; 20 agents
 * proposing at once are all recorded.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readUserToken } from '../../src/adapters/bridge/auth.ts';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { tokenPath } from '../../src/adapters/bridge/discovery.ts';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { serveCore, type ServedCore } from '../../src/adapters/serve.ts';
import type { RunEvent } from '../../src/core/domain/events.ts';
import { NexusError } from '../../src/core/errors.ts';
import { until } from '../fakes/bridge-harness.ts';

const forbidden = (err: unknown): boolean =>
  err instanceof NexusError && err.code === 'BRIDGE_UNAUTHORIZED' && err.data?.rpc === -32003;

void describe('memory over the bridge', () => {
  let core: EmbeddedCore;
  let served: ServedCore;
  let user: BridgeClient;
  let stateDir: string;
  const heard: RunEvent[] = [];

  before(async () => {
    const ws = mkdtempSync(join(tmpdir(), 'nexus-membridge-'));
    mkdirSync(join(ws, '.nexus', 'agents'), { recursive: true });
    writeFileSync(
      join(ws, '.nexus', 'agents', 'dev.md'),
      '---\nbackend: claude\nmodel: m\nmemory:\n  may_propose: true\n---\nBuild.',
    );
    stateDir = join(ws, '.nexus', 'state');
    core = await openEmbeddedCore({
      workspace: ws,
      stateDir,
      userConfigDir: join(ws, 'user-config'),
      holdLock: 'test',
    });
    served = await serveCore(core, { stateDir });
    user = await BridgeClient.connect(served.url, await readUserToken(tokenPath(stateDir)));
    await user.subscribe({ all: true }, (e) => heard.push(e));
  });
  after(async () => {
    await user?.close();
    await served?.close();
    await core?.close();
  });

  const agentFor = (runId: string): Promise<BridgeClient> =>
    BridgeClient.connect(served.url, served.agentToken(runId), { reconnect: false });

  void it('an agent token proposes for its own run, as the agent; everything else is refused and recorded', async () => {
    const run = await user.createRun({ agent: 'dev' });
    const other = await user.createRun({ agent: 'dev' });
    const agent = await agentFor(run.id);
    try {
      const proposal = await agent.proposeMemory({
        text: 'Use port 5433 for the local Postgres',
        run: run.id,
        by: 'user',
      });
      assert.equal(proposal.status, 'pending');
      assert.equal(proposal.source.kind, 'run');
      await until(() => heard.some((e) => e.type === 'nexus.memory.proposed'));
      const proposed = heard.find((e) => e.type === 'nexus.memory.proposed');
      assert.equal(proposed?.run_id, run.id);
      assert.ok(
        proposed?.type === 'nexus.memory.proposed' && proposed.data.by === 'agent',
        'by was not fixed to agent',
      );

      const refused: Array<[string, () => Promise<unknown>]> = [
        ['memory.approve', () => agent.approveMemory({ id: proposal.id })],
        ['memory.reject', () => agent.rejectMemory({ id: proposal.id })],
        ['memory.add', () => agent.addMemory({ text: 'planted', scope: 'project' })],
        ['memory.edit', () => agent.editMemory({ id: proposal.id, text: 'changed' })],
        ['memory.forget', () => agent.forgetMemory({ id: proposal.id })],
        ['memory.list', () => agent.listMemory()],
        ['memory.search', () => agent.searchMemory({ query: 'postgres' })],
        ['memory.propose', () => agent.proposeMemory({ text: 'for another run', run: other.id })],
        ['memory.propose', () => agent.proposeMemory({ text: 'no run named' })],
      ];
      for (const [method, call] of refused)
        await assert.rejects(call(), forbidden, `${method} was not refused`);
      // Nothing changed: still one entry, still pending, its text as proposed.
      const entries = await user.listMemory({
        status: ['pending', 'active', 'rejected', 'archived'],
      });
      assert.deepEqual(
        entries.map((e) => [e.id, e.status, e.text]),
        [[proposal.id, 'pending', 'Use port 5433 for the local Postgres']],
      );
      // Each refusal is in the agent's run's log (recorded as the bridge refuses: wait for it).
      const wanted = [
        'memory.approve',
        'memory.add',
        'memory.edit',
        'memory.forget',
        'memory.list',
      ];
      let refusals: string[] = [];
      for (let i = 0; i < 200 && !wanted.every((m) => refusals.includes(m)); i++) {
        await new Promise((r) => setTimeout(r, 10));
        refusals = (await user.getEvents(run.id)).flatMap((e) =>
          e.type === 'nexus.security.refused' ? [e.data.method] : [],
        );
      }
      for (const m of wanted)
        assert.ok(refusals.includes(m), `${m} refusal not recorded: ${refusals.join(', ')}`);

      // Neither may the runner, the judge, decide memory.
      const runner = await BridgeClient.connect(served.url, served.runnerToken(run.id), {
        reconnect: false,
      });
      await assert.rejects(runner.approveMemory({ id: proposal.id }), forbidden);
      await runner.close();

      // A person approves; the decision lands in the proposing run's log and is heard live.
      const approved = await user.approveMemory({ id: proposal.id });
      assert.equal(approved.approved_by, 'user');
      await until(() => heard.some((e) => e.type === 'nexus.memory.approved'));
      assert.ok((await user.getEvents(run.id)).some((e) => e.type === 'nexus.memory.approved'));
    } finally {
      await agent.close();
    }
  });

  void it("a person's change outside any run is announced live, with run_id ''", async () => {
    const added = await user.addMemory({ text: 'Releases are cut on Tuesdays', scope: 'global' });
    await until(() =>
      heard.some((e) => e.type === 'nexus.memory.changed' && e.data.entry === added.id),
    );
    const e = heard.find((x) => x.type === 'nexus.memory.changed' && x.data.entry === added.id);
    assert.equal(e?.run_id, '');
    assert.ok(e?.type === 'nexus.memory.changed' && e.data.change === 'added');
    const hits = await user.searchMemory({ query: 'when are releases cut', limit: 3 });
    assert.equal(hits[0]?.entry.id, added.id);
    assert.ok(hits[0] && hits[0].score > 0 && hits[0].bm25 === hits[0].score);
  });

  void it('20 agents proposing at once are all recorded', async () => {
    const runs = await Promise.all(
      Array.from({ length: 20 }, () => user.createRun({ agent: 'dev' })),
    );
    const agents = await Promise.all(runs.map((r) => agentFor(r.id)));
    try {
      const proposals = await Promise.all(
        agents.map((a, i) =>
          a.proposeMemory({
            text: `Concurrent fact number ${i}`,
            run: runs[i]?.id,
            tags: [`n${i}`],
          }),
        ),
      );
      assert.equal(new Set(proposals.map((p) => p.id)).size, 20);
      const pending = await user.listMemory({ status: ['pending'] });
      const texts = new Set(pending.map((p) => p.text));
      for (let i = 0; i < 20; i++)
        assert.ok(texts.has(`Concurrent fact number ${i}`), `fact ${i} lost`);
      for (const [i, r] of runs.entries()) {
        const events = await user.getEvents(r.id);
        assert.ok(
          events.some(
            (e) => e.type === 'nexus.memory.proposed' && e.data.entry === proposals[i]?.id,
          ),
          `run ${i} has no record of its proposal`,
        );
      }
    } finally {
      await Promise.all(agents.map((a) => a.close()));
    }
  });
});
