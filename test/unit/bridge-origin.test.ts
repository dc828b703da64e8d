// Origin and Host checks on a real BridgeServer on 127.0.0.1, probed with real `ws` clients and
// raw `http.request` upgrades: a page from another origin, or one that reached the bridge through
// a host name resolving to 127.0.0.1 (DNS rebinding), gets 403 before the upgrade and never a
// connection; Node clients (no Origin), the served board's own origin and the editor get in.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { rawToString } from '../../src/adapters/bridge/socket.ts';
import { FakeApi } from '../fakes/fake-api.ts';
import { hello, startBridge, USER_TOKEN, type Bridge } from '../fakes/bridge-harness.ts';

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Resolves once the server has closed the socket. */
  closed: Promise<void>;
}

/** A raw upgrade request: the status line the server answers with, and whether it hangs up. */
function rawUpgrade(port: number, headers: Record<string, string>, path = '/'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        body: '',
        closed: Promise.resolve(),
      });
    });
    req.on('response', (res) => {
      const closed = new Promise<void>((done) => res.socket.once('close', () => done()));
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, closed }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain GET with the given headers: its status. */
function rawGet(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/board', agent: false, headers });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A plain GET of `/` sent to `address:port` claiming `host`: its status. */
function statusFor(address: string, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path: '/', agent: false, headers: { host } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

type Outcome = { opened: true; reply: Record<string, unknown> } | { opened: false; status: number };

/** A real ws client claiming `origin`: the server's hello reply, or the status it was refused with. */
function helloWith(url: string, opts: WebSocket.ClientOptions): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, opts);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ opened: false, status: res.statusCode ?? 0 });
    });
    ws.once('open', () => ws.send(JSON.stringify(hello())));
    ws.once('message', (data) => {
      ws.close();
      resolve({ opened: true, reply: JSON.parse(rawToString(data)) as Record<string, unknown> });
    });
    ws.once('error', (err) => {
      if (ws.readyState !== WebSocket.CLOSED) reject(err);
    });
  });
}

function assertHelloOk(outcome: Outcome): void {
  assert.equal(outcome.opened, true, `refused: ${JSON.stringify(outcome)}`);
  if (outcome.opened) assert.equal((outcome.reply.result as { role: string }).role, 'user');
}

void describe('bridge Origin and Host checks (loopback bind)', () => {
  let bridge: Bridge;
  const logs: string[] = [];
  const handled: string[] = [];
  before(async () => {
    bridge = await startBridge(new FakeApi(), {
      log: (m) => logs.push(m),
      allowedOrigins: ['https://Extra.Example:8443'],
      httpHandler: (req, res) => {
        handled.push(req.headers.host ?? '');
        res.writeHead(204);
        res.end();
      },
    });
  });
  after(async () => {
    await bridge.close();
  });

  void it('refuses an evil Origin with 403 before the upgrade, closes the socket, logs no token', async () => {
    const before = logs.length;
    const answer = await rawUpgrade(
      bridge.port,
      { origin: 'https://evil.example' },
      `/?token=${USER_TOKEN}`,
    );
    assert.equal(answer.status, 403);
    assert.equal(answer.headers.upgrade, undefined, 'no upgrade headers');
    await answer.closed;
    const lines = logs.slice(before);
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /refused WebSocket upgrade .*Origin "https:\/\/evil\.example"/);
    assert.ok(!logs.join('\n').includes(USER_TOKEN), 'the token never reaches the log');
  });

  void it('an evil-origin ws client never opens, so it can never say hello', async () => {
    const outcome = await helloWith(bridge.url, { origin: 'https://evil.example' });
    assert.deepEqual(outcome, { opened: false, status: 403 });
    // Look-alikes of allowed origins are refused too.
    for (const origin of [
      'null',
      `http://127.0.0.1:${bridge.port + 1}`,
      `https://127.0.0.1:${bridge.port}`,
      `http://127.0.0.1.evil.example:${bridge.port}`,
      'vscode-webview:',
      'https://extra.example',
    ]) {
      assert.deepEqual(
        await helloWith(bridge.url, { origin }),
        { opened: false, status: 403 },
        origin,
      );
    }
  });

  void it('refuses a rebinding Host (evil.example:PORT) with 403, for upgrades and plain requests', async () => {
    const before = logs.length;
    const answer = await rawUpgrade(bridge.port, { host: `evil.example:${bridge.port}` });
    assert.equal(answer.status, 403);
    await answer.closed;
    // Even with an Origin that matches the Host: the page is the attacker's, served elsewhere.
    const sameSite = await rawUpgrade(bridge.port, {
      host: `evil.example:${bridge.port}`,
      origin: `http://evil.example:${bridge.port}`,
    });
    assert.equal(sameSite.status, 403);
    assert.match(logs.slice(before).join('\n'), /Host "evil\.example:\d+" is not this server/);

    const handledBefore = handled.length;
    assert.equal(await rawGet(bridge.port, { host: `evil.example:${bridge.port}` }), 403);
    assert.equal(await rawGet(bridge.port, { host: 'localhost.evil.example' }), 403);
    assert.equal(handled.length, handledBefore, 'the HTTP handler never saw them');
    assert.equal(await rawGet(bridge.port, { host: `localhost:${bridge.port}` }), 204);
    assert.equal(await rawGet(bridge.port, { host: `[::1]:${bridge.port}` }), 204);
    assert.equal(await rawGet(bridge.port, { host: '127.0.0.1' }), 204);
  });

  void it('lets a client with no Origin in: hello succeeds with a valid token', async () => {
    const client = await BridgeClient.connect(bridge.url, USER_TOKEN);
    assert.equal(client.session.role, 'user');
    await client.close();
    const answer = await rawUpgrade(bridge.port, {});
    assert.equal(answer.status, 101);
  });

  void it("lets the server's own origin in, under each loopback name", async () => {
    for (const name of ['127.0.0.1', 'localhost', '[::1]']) {
      assertHelloOk(await helloWith(bridge.url, { origin: `http://${name}:${bridge.port}` }));
    }
    // The page at http://localhost:PORT connects to ws://localhost:PORT: Host and Origin agree.
    const answer = await rawUpgrade(bridge.port, {
      host: `localhost:${bridge.port}`,
      origin: `http://localhost:${bridge.port}`,
    });
    assert.equal(answer.status, 101);
  });

  void it('lets the editor in (vscode-webview:// and vscode-file://) and allowedOrigins', async () => {
    assertHelloOk(
      await helloWith(bridge.url, {
        origin: 'vscode-webview://1f2e3d4c5b6a7980abcdef0123456789',
      }),
    );
    assertHelloOk(await helloWith(bridge.url, { origin: 'vscode-file://vscode-app' }));
    assertHelloOk(await helloWith(bridge.url, { origin: 'https://extra.example:8443' }));
  });
});

void describe('bridge Host check (bound to a non-loopback name)', () => {
  // 127.0.0.2 is not one of the loopback names the bridge knows, so it stands in for an
  // explicitly bound address without anything leaving the machine (Linux routes 127/8 to lo).
  let bridge: Bridge | undefined;
  before(async () => {
    try {
      bridge = await startBridge(new FakeApi(), { host: '127.0.0.2' });
    } catch {
      bridge = undefined;
    }
  });
  after(async () => {
    await bridge?.close();
  });

  void it('accepts the bound host and loopback names; its own origin only on that host', async (t) => {
    if (bridge === undefined) return t.skip('cannot bind 127.0.0.2 here');
    const port = bridge.port;
    const get = (host: string): Promise<number> => statusFor('127.0.0.2', port, host);
    assert.equal(await get(`127.0.0.2:${port}`), 404, 'the default handler answered');
    assert.equal(await get(`localhost:${port}`), 404);
    assert.equal(await get(`evil.example:${port}`), 403);
    assertHelloOk(await helloWith(bridge.url, { origin: `http://127.0.0.2:${port}` }));
    // A loopback port with this number is not necessarily this server.
    assert.deepEqual(await helloWith(bridge.url, { origin: `http://127.0.0.1:${port}` }), {
      opened: false,
      status: 403,
    });
  });
});

void describe('bridge Host check (reached by another name: a pod bridge URL)', () => {
  let bridge: Bridge;
  before(async () => {
    bridge = await startBridge(new FakeApi(), { hostNames: ['nexus.nexus-agents.svc'] });
  });
  after(async () => {
    await bridge.close();
  });

  void it('answers to that name and loopback; still refuses any other Host', async () => {
    const get = (host: string): Promise<number> => statusFor('127.0.0.1', bridge.port, host);
    assert.equal(await get(`nexus.nexus-agents.svc:${bridge.port}`), 404, 'the handler answered');
    assert.equal(await get(`NEXUS.nexus-agents.svc:${bridge.port}`), 404);
    assert.equal(await get(`127.0.0.1:${bridge.port}`), 404);
    assert.equal(await get(`evil.example:${bridge.port}`), 403);
    assert.equal(await get(`nexus.nexus-agents.svc.evil.example:${bridge.port}`), 403);
  });
});
