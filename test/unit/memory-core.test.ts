/**
 * Memory in a real embedded core (files in a temp workspace and user dir): what a dispatch
 * injects — active entries only, within the agent's scopes, entry count and token budget —
 * into the payload's `memory` and its system prompt; what the run records of it (entries with
 * scores, in the manifest, the event log and the brief); and the proposal rules (the policy
 * decides whether an agent may propose; only a person approves).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { NexusError } from '../../src/core/errors.ts';

interface Setup {
  core: EmbeddedCore;
  ws: string;
  close: () => Promise<void>;
}

function agentDoc(memory: string): string {
  return ['---', 'backend: claude', 'model: m', 'memory:', memory, '---', 'You build things.'].join(
    '\n',
  );
}

async function setup(): Promise<Setup> {
  const ws = mkdtempSync(join(tmpdir(), 'nexus-memcore-'));
  const write = (rel: string, text: string): void => {
    mkdirSync(join(ws, rel, '..'), { recursive: true });
    writeFileSync(join(ws, rel), text);
  };
  write(
    '.nexus/agents/dev.md',
    agentDoc(
      '  scopes: [project, agent]\n  max_entries: 3\n  token_budget: 60\n  may_propose: true',
    ),
  );
  write('.nexus/agents/quiet.md', agentDoc('  scopes: [project]\n  may_propose: false'));
  write('.nexus/agents/wide.md', agentDoc('  scopes: [global, project]\n  max_entries: 10'));
  write(
    '.nexus/assignments/migrate.md',
    [
      '---',
      'tasks:',
      '  - id: migrate',
      '    title: Add a database migration for the orders table',
      '---',
      'Use the usual migration tooling.',
    ].join('\n'),
  );
  const core = await openEmbeddedCore({
    workspace: ws,
    stateDir: join(ws, '.nexus', 'state'),
    userConfigDir: join(ws, 'user-config'),
  });
  return { core, ws, close: () => core.close() };
}

const isCode =
  (code: string) =>
  (err: unknown): boolean =>
    err instanceof NexusError && err.code === code;

void describe('memory at dispatch', () => {
  void it('injects approved entries only: a pending proposal never reaches a payload', async () => {
    const { core, close } = await setup();
    const svc = core.service;
    try {
      const first = await svc.createRun({ agent: 'dev', assignment: 'migrate' });
      const proposal = await svc.proposeMemory({
        text: 'Database migrations live in db/migrations; create one with npm run migrate:new',
        tags: ['db'],
        run: first.id,
        by: 'agent',
      });
      assert.equal(proposal.status, 'pending');
      assert.deepEqual(proposal.source, { kind: 'run', run: first.id, agent: 'dev' });

      const before = await svc.createRun({ agent: 'dev', assignment: 'migrate' });
      const p1 = await svc.payloadFor(before.id);
      assert.deepEqual(p1.memory, [], 'a pending proposal was injected');
      assert.doesNotMatch(p1.system_prompt, /migrate:new/);
      // A search as a person does it (active only) does not find it either.
      assert.deepEqual(await svc.searchMemory({ query: 'database migration orders' }), []);

      await assert.rejects(
        svc.approveMemory({ id: proposal.id, by: 'agent' }),
        isCode('MEMORY_FORBIDDEN'),
      );
      const approved = await svc.approveMemory({ id: proposal.id.slice(0, 6), by: 'alice' });
      assert.equal(approved.status, 'active');
      assert.equal(approved.approved_by, 'alice');

      const next = await svc.createRun({ agent: 'dev', assignment: 'migrate' });
      const p2 = await svc.payloadFor(next.id);
      assert.deepEqual(p2.memory, [proposal.text]);
      assert.match(p2.system_prompt, /## Relevant memory[\s\S]*npm run migrate:new/);
      assert.ok(p2.tools.includes('memory'), 'may_propose grants the memory tool');
      assert.match(p2.system_prompt, /nexus memory propose/);

      // What the run was given, with scores: manifest, event log, brief.
      const m = await svc.getRun(next.id);
      assert.equal(m.memory?.injected.length, 1);
      assert.equal(m.memory?.injected[0]?.id, proposal.id);
      assert.ok((m.memory?.injected[0]?.score ?? 0) > 0);
      assert.deepEqual(m.memory?.scopes, ['project', 'agent:dev']);
      const injectedEvent = (await svc.getEvents(next.id)).find(
        (e) => e.type === 'nexus.memory.injected',
      );
      assert.deepEqual(
        injectedEvent?.type === 'nexus.memory.injected' &&
          injectedEvent.data.entries.map((e) => e.id),
        [proposal.id],
      );
      const brief = await svc.getBrief(next.id);
      assert.equal(brief.memoryAt, m.memory?.at);
      assert.equal(brief.memory[0]?.id, proposal.id);
      assert.match(brief.systemPrompt, /npm run migrate:new/);
      // The proposing run's own log has the proposal and the decision.
      const types = (await svc.getEvents(first.id)).map((e) => e.type);
      assert.ok(types.includes('nexus.memory.proposed') && types.includes('nexus.memory.approved'));
      // Its use was counted.
      const [stored] = await svc.listMemory({ scope: ['project'] });
      assert.equal(stored?.use_count, 1);
      assert.ok(stored?.last_used_at);
    } finally {
      await close();
    }
  });

  void it("keeps to the agent's scopes, entry count and token budget; rejected and archived stay out", async () => {
    const { core, close } = await setup();
    const svc = core.service;
    try {
      const add = (text: string, scope: string) => svc.addMemory({ text, scope, by: 'alice' });
      const mine = await add('Orders table migrations must set lock_timeout first', 'agent:dev');
      const other = await add(
        'Orders table migrations: reviewer checks the lock_timeout',
        'agent:reviewer',
      );
      const global = await add('Every database migration needs a down step', 'global');
      const long = await add(
        `Database migration notes for the orders table: ${'detail '.repeat(60)}`,
        'project',
      );
      const small = [1, 2, 3].map((i) =>
        add(`Orders migration tip ${i}: run it on a copy first`, 'project'),
      );
      const smalls = await Promise.all(small);
      const archived = await add('Orders table migration: old advice, archived', 'project');
      await svc.forgetMemory({ id: archived.id, by: 'alice' });
      const rejected = await svc.proposeMemory({
        text: 'Orders migration: drop the table first',
        by: 'bob',
      });
      await svc.rejectMemory({ id: rejected.id, reason: 'wrong', by: 'alice' });

      const run = await svc.createRun({ agent: 'dev', assignment: 'migrate' });
      const p = await svc.payloadFor(run.id);
      const given = (await svc.getRun(run.id)).memory?.injected ?? [];
      const ids = given.map((e) => e.id);
      // dev: scopes project + agent:dev, at most 3 entries, at most 60 tokens.
      assert.ok(ids.length <= 3, `too many: ${ids.length}`);
      assert.ok(given.reduce((n, e) => n + e.tokens, 0) <= 60);
      assert.ok(!ids.includes(other.id), "another agent's memory was injected");
      assert.ok(
        !ids.includes(global.id),
        'global memory was injected though the policy has no global',
      );
      assert.ok(!ids.includes(long.id), 'an entry bigger than the budget was injected');
      assert.ok(!ids.includes(archived.id) && !ids.includes(rejected.id));
      assert.ok(ids.includes(mine.id), `its own agent memory is missing: ${ids.join(' ')}`);
      assert.ok(ids.some((id) => smalls.some((s) => s.id === id)));
      assert.deepEqual(
        p.memory,
        given.map((e) => e.text),
      );
      // Ranked best first.
      const scores = given.map((e) => e.score);
      assert.deepEqual(
        scores,
        [...scores].sort((a, b) => b - a),
      );

      // wide: global + project, no agent scope.
      const wide = await svc.createRun({ agent: 'wide', assignment: 'migrate' });
      await svc.payloadFor(wide.id);
      const wideIds = (await svc.getRun(wide.id)).memory?.injected.map((e) => e.id) ?? [];
      assert.ok(wideIds.includes(global.id) && wideIds.includes(long.id));
      assert.ok(!wideIds.includes(mine.id) && !wideIds.includes(other.id));
      assert.ok(
        !tools(await svc.payloadFor(wide.id)).includes('memory'),
        'no proposing, no memory tool',
      );
    } finally {
      await close();
    }
  });

  void it('lets an agent propose only where its policy allows, and only into its own scopes', async () => {
    const { core, close } = await setup();
    const svc = core.service;
    try {
      const quiet = await svc.createRun({ agent: 'quiet', assignment: 'migrate' });
      await assert.rejects(
        svc.proposeMemory({ text: 'a fact', run: quiet.id, by: 'agent' }),
        (err: unknown) =>
          isCode('MEMORY_FORBIDDEN')(err) && /may_propose: false/.test((err as Error).message),
      );
      const dev = await svc.createRun({ agent: 'dev', assignment: 'migrate' });
      const own = await svc.proposeMemory({
        text: 'mine',
        scope: 'agent',
        run: dev.id,
        by: 'agent',
      });
      assert.equal(own.scope, 'agent:dev');
      await assert.rejects(
        svc.proposeMemory({ text: 'theirs', scope: 'agent:reviewer', run: dev.id, by: 'agent' }),
        isCode('MEMORY_FORBIDDEN'),
      );
      await assert.rejects(
        svc.proposeMemory({ text: 'no run', by: 'agent' }),
        isCode('MEMORY_FORBIDDEN'),
      );
      for (const call of [
        () => svc.addMemory({ text: 'x', by: 'agent' }),
        () => svc.editMemory({ id: own.id, text: 'y', by: 'agent' }),
        () => svc.forgetMemory({ id: own.id, by: 'runner' }),
        () => svc.rejectMemory({ id: own.id, by: 'agent' }),
      ])
        await assert.rejects(call(), isCode('MEMORY_FORBIDDEN'));
      // A person edits (moving scope) and forgets.
      const moved = await svc.editMemory({
        id: own.id,
        scope: 'global',
        tags: ['a', 'b'],
        by: 'alice',
      });
      assert.equal(moved.scope, 'global');
      assert.deepEqual(
        (await svc.listMemory({ scope: ['agent'] })).map((e) => e.id),
        [],
      );
      assert.equal((await svc.listMemory({ scope: ['global'] }))[0]?.status, 'pending');
      const gone = await svc.forgetMemory({ id: own.id, purge: true, by: 'alice' });
      assert.equal(gone.id, own.id);
      await assert.rejects(
        svc.approveMemory({ id: own.id, by: 'alice' }),
        isCode('MEMORY_NOT_FOUND'),
      );
    } finally {
      await close();
    }
  });
});

const tools = (p: { tools: string[] }): string[] => p.tools;
