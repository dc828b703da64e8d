/**
 * `POST /rpc`, the bridge's one-shot calls (what the agent's `nexus task …` uses), against a real
 * BridgeServer over a real embedded core: the real CLI sets a task with its agent token in one
 * request and no WebSocket; and an attacker with the wrong token, another run's token, a forged
 * author, a browser's Origin or content type, a foreign Host, an oversized body or a method
 * that needs a connection gets a refusal and changes nothing. A core without `/rpc` (404) is
 * reached over the WebSocket instead. The CLI's hand-written HTTP client reads a chunked answer
 * and takes a connection closed mid-answer for a lost core.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { oneShotTasks } from '../../src/adapters/bridge/one-shot.ts';
import type { TaskApi } from '../../src/adapters/embedded-tasks.ts';
import { RpcErrorCode } from '../../src/protocol/bridge.ts';
import { startBridge, USER_TOKEN, type Bridge } from '../fakes/bridge-harness.ts';
import { nexus, tempWorkspace, type TempWorkspace } from '../builders/workspace.ts';

let ws: TempWorkspace;
let core: EmbeddedCore;
let bridge: Bridge;
let rpc: string;
let run: string;
let other: string;

before(async () => {
  ws = tempWorkspace({ withExamples: true });
  core = await openEmbeddedCore({
    workspace: ws.dir,
    stateDir: ws.stateDir,
    userConfigDir: join(ws.dir, 'user-config'),
  });
  bridge = await startBridge(core.service, { maxPayload: 64 * 1024 });
  rpc = `http://127.0.0.1:${bridge.port}/rpc`;
  run = (await core.service.createRun({ agent: 'manual', assignment: 'hello-file' })).id;
  other = (await core.service.createRun({ agent: 'manual', assignment: 'hello-file' })).id;
});
after(async () => {
  await bridge?.close();
  await core?.close();
});

/** A POST to /rpc; `headers` replace the defaults. */
async function post(
  body: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  json: { result?: unknown; error?: { code: number; message: string } };
}> {
  const res = await fetch(rpc, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bridge.auth.mintAgentToken(run)}`,
      'content-type': 'application/json',
      ...headers,
    },
    body,
  });
  return { status: res.status, json: (await res.json()) as never };
}

const statusOf = async (id: string, task: string): Promise<string | undefined> =>
  (await core.service.getRun(id)).tasks.find((t) => t.id === task)?.status;

void describe('POST /rpc', () => {
  void it("the real CLI sets its run's task in one request, without a WebSocket", async () => {
    // A front that passes POST /rpc through and refuses every WebSocket upgrade: the call can
    // only succeed the one-shot way.
    let upgrades = 0;
    let posts = 0;
    const front: Server = createServer((req, res) => {
      posts++;
      const fwd = request(
        {
          host: '127.0.0.1',
          port: bridge.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(fwd);
    });
    front.on('upgrade', (_req, socket) => {
      upgrades++;
      socket.destroy();
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    try {
      const port = (front.address() as AddressInfo).port;
      const r = await nexus(
        ws,
        ['task', 'set', run, 'create-file', 'in_progress', '--note', 'on it'],
        {
          NEXUS_CONNECT: `ws://127.0.0.1:${port}`,
          NEXUS_TOKEN: bridge.auth.mintAgentToken(run),
          NEXUS_RUN_ID: run,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /create-file/);
      assert.equal(posts, 1, 'one request');
      assert.equal(upgrades, 0, 'no WebSocket');
      assert.equal(await statusOf(run, 'create-file'), 'in_progress');
      const events = await core.service.getEvents(run);
      const updated = events.filter((e) => e.type === 'nexus.task.updated').at(-1);
      assert.equal((updated?.data as { by?: string }).by, 'agent');
    } finally {
      await new Promise<void>((r) => front.close(() => r()));
    }
  });

  void it('an agent token cannot touch another run, nor claim to be the user', async () => {
    const foreign = await post(
      JSON.stringify({
        method: 'tasks.set',
        params: { run: other, task: 'create-file', status: 'completed' },
      }),
    );
    assert.equal(foreign.status, 200);
    assert.equal(foreign.json.error?.code, RpcErrorCode.forbidden, JSON.stringify(foreign.json));
    assert.equal(await statusOf(other, 'create-file'), 'pending');
    // The author is the bridge's to say, from the token: `by` in the body changes nothing.
    const forged = await post(
      JSON.stringify({
        method: 'tasks.set',
        params: { run, task: 'list-files', status: 'in_progress', by: 'user' },
      }),
    );
    assert.equal(forged.status, 200, JSON.stringify(forged.json));
    const updated = (await core.service.getEvents(run))
      .filter((e) => e.type === 'nexus.task.updated')
      .at(-1);
    assert.equal((updated?.data as { by?: string; task?: string }).task, 'list-files');
    assert.equal((updated?.data as { by?: string }).by, 'agent');
    // Approvals are a person's: an agent token cannot decide one this way either.
    const decide = await post(JSON.stringify({ method: 'approvals.approve', params: { id: 'x' } }));
    assert.ok(decide.json.error, JSON.stringify(decide.json));
  });

  void it('refuses what never reaches a method: no token, a bad one, a browser, a foreign Host, too much', async () => {
    const body = JSON.stringify({ method: 'tasks.list', params: { run } });
    assert.equal((await post(body, { authorization: '' })).status, 401);
    assert.equal((await post(body, { authorization: `Bearer ${USER_TOKEN}x` })).status, 401);
    assert.equal((await post(body, { origin: 'http://evil.example' })).status, 403);
    // A cross-site form or a "simple" fetch cannot send JSON without a preflight.
    assert.equal((await post(body, { 'content-type': 'text/plain' })).status, 415);
    const big = JSON.stringify({ method: 'tasks.list', params: { run, pad: 'x'.repeat(70_000) } });
    assert.equal((await post(big)).status, 413);
    assert.equal((await post('{not json')).status, 400);
    const sub = await post(JSON.stringify({ method: 'events.subscribe', params: { all: true } }));
    assert.equal(sub.json.error?.code, RpcErrorCode.invalidRequest);
    assert.match(sub.json.error?.message ?? '', /needs a WebSocket/);
    // DNS rebinding: a page under another name resolving to 127.0.0.1.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = request(rpc, {
        method: 'POST',
        headers: {
          host: 'evil.example',
          authorization: `Bearer ${USER_TOKEN}`,
          'content-type': 'application/json',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(rebound, 403);
    // The user token works (nothing above was refused for a reason a person would hit).
    const ok = await post(body, { authorization: `Bearer ${USER_TOKEN}` });
    assert.equal(ok.status, 200);
    assert.equal((ok.json.result as unknown[]).length, 2);
  });

  void it('a core without /rpc (404) is reached over the WebSocket instead', async () => {
    const old: Server = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    try {
      let used = 0;
      const viaSocket = {
        listTasks: async () => {
          used++;
          return [];
        },
      } as unknown as TaskApi;
      const api = oneShotTasks(`ws://127.0.0.1:${(old.address() as AddressInfo).port}`, 't', {
        patienceMs: 0,
        fallback: async () => viaSocket,
      });
      assert.deepEqual(await api.listTasks(run), []);
      assert.deepEqual(await api.listTasks(run), []);
      assert.equal(used, 2);
    } finally {
      await new Promise<void>((r) => old.close(() => r()));
    }
  });

  void it('the client reads a chunked answer, and a core gone mid-answer is BRIDGE_UNAVAILABLE', async () => {
    // The CLI writes its request by hand on a socket (one-shot.ts): a real node:http server
    // answering in chunks, and one that stops after half of its answer.
    const seen: Array<{ host?: string; auth?: string; body: string }> = [];
    const half = JSON.stringify({ result: [{ id: 'a' }] });
    const srv: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ host: req.headers.host, auth: req.headers.authorization, body });
        if (seen.length === 1) {
          // Answered late, as a core answers after its durable write.
          setTimeout(() => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"result": [{"id": "a", "title": "t\u00e9 \u00b7 ');
            res.end('x"}]}');
          }, 20);
        } else {
          res.writeHead(200, { 'content-length': String(half.length * 2) });
          res.write(half);
          setTimeout(() => res.socket?.destroy(), 20);
        }
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as AddressInfo).port;
      const api = oneShotTasks(`ws://127.0.0.1:${port}`, 'tok', {
        patienceMs: 0,
        fallback: async () => {
          throw new Error('not used');
        },
      });
      assert.deepEqual(await api.listTasks('r1'), [{ id: 'a', title: 'té · x' }]);
      assert.deepEqual(seen[0], {
        host: `127.0.0.1:${port}`,
        auth: 'Bearer tok',
        body: JSON.stringify({ method: 'tasks.list', params: { run: 'r1' } }),
      });
      await assert.rejects(api.listTasks('r1'), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'BRIDGE_UNAVAILABLE');
        assert.match(err.message, /mid-call: the answer was cut short/);
        return true;
      });
    } finally {
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  void it('a core that refuses connections: BRIDGE_UNAVAILABLE at once outside a run', async () => {
    const api = oneShotTasks('ws://127.0.0.1:9', 't', {
      patienceMs: 0,
      fallback: async () => {
        throw new Error('not used');
      },
    });
    await assert.rejects(api.listTasks(run), { code: 'BRIDGE_UNAVAILABLE' });
  });
});
