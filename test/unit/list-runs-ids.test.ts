/**
 * `listRuns({ ids })`, how the editor re-reads only the runs whose events arrived instead of the
 * whole index, over a real embedded core and a real bridge: it returns exactly the listed runs a
 * full listing has (an archived or deleted one is left out, so the editor drops it), once each;
 * the bridge bounds the list; and deleting a run tells every subscriber, since a deleted run's
 * log, and so its events, go with it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import type { RunEvent } from '../../src/core/domain/events.ts';
import { NexusError } from '../../src/core/errors.ts';
import { RUNS_LIST_IDS } from '../../src/protocol/bridge-methods.ts';
import { RpcErrorCode } from '../../src/protocol/bridge.ts';
import { startBridge, USER_TOKEN, type Bridge } from '../fakes/bridge-harness.ts';
import { tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';

let ws: TempWorkspace;
let core: EmbeddedCore;
let bridge: Bridge;
let user: BridgeClient;

before(async () => {
  ws = tempWorkspace({ withExamples: true });
  core = await openEmbeddedCore({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
    holdLock: 'test',
  });
  bridge = await startBridge(core.service, { maxPayload: 256 * 1024 });
  user = await BridgeClient.connect(bridge.url, USER_TOKEN);
});
after(async () => {
  await user?.close();
  await bridge?.close();
  await core?.close();
});

const create = async (): Promise<string> =>
  (await core.service.createRun({ agent: 'manual', assignment: 'hello-file' })).id;

void describe('listRuns({ ids })', () => {
  void it('returns the named runs a full listing has, once each, and nothing else', async () => {
    const [a, b, c, d] = [await create(), await create(), await create(), await create()];
    await core.service.updateRun({ ref: a, name: 'renamed' });
    await core.service.updateRun({ ref: b, archived: true });
    await core.service.deleteRun(c);

    const some = await user.listRuns({ ids: [a, b, c, a, 'no-such-run'] });
    // The archived run is hidden as in every listing, the deleted one is gone, a repeat is one.
    assert.deepEqual(
      some.map((r) => [r.id, r.title]),
      [[a, 'renamed']],
    );
    const full = await user.listRuns();
    assert.deepEqual(
      some,
      full.filter((r) => r.id === a),
    );
    assert.ok(full.some((r) => r.id === d));
    // The rest of the filter still applies.
    assert.deepEqual(
      (await user.listRuns({ ids: [a, b], archived: 'only' })).map((r) => r.id),
      [b],
    );
    assert.deepEqual(await user.listRuns({ ids: [] }), []);
  });

  void it('the bridge refuses a list longer than its bound, naming the parameter', async () => {
    const ids = Array.from({ length: RUNS_LIST_IDS + 1 }, (_, i) => `run-${i}`);
    await assert.rejects(
      user.listRuns({ ids }),
      (err: unknown) =>
        err instanceof NexusError &&
        err.code === 'USAGE' &&
        err.data?.rpc === RpcErrorCode.invalidParams &&
        /ids: Too big/.test(err.message),
    );
    assert.deepEqual(await user.listRuns({ ids: ids.slice(0, RUNS_LIST_IDS) }), []);
  });

  void it("deleting a run tells every subscriber, with the run's id", async () => {
    const id = await create();
    const seen: RunEvent[] = [];
    const sub = await user.subscribe({ all: true }, (e) => seen.push(e));
    try {
      await user.deleteRun(id);
      for (let i = 0; i < 100 && !seen.some(isDeleted); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const deleted = seen.find(isDeleted);
      assert.ok(deleted, `no deletion event among ${seen.map((e) => e.type).join(', ')}`);
      assert.deepEqual(deleted.data, { run: id });
      assert.equal(deleted.run_id, '');
      // Never stored: no run's log holds it.
      assert.ok(!(await user.listRuns({ ids: [id] })).length);
    } finally {
      sub.close();
    }
  });
});

function isDeleted(e: RunEvent): e is Extract<RunEvent, { type: 'nexus.agent.run.deleted' }> {
  return e.type === 'nexus.agent.run.deleted';
}
