import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { ensureUserToken, HmacTokenAuthority } from '../../src/adapters/bridge/auth.ts';
import {
  discoverCore,
  removeCoreInfo,
  tokenPath,
  writeCoreInfo,
  coreInfoPath,
} from '../../src/adapters/bridge/discovery.ts';
import { NexusError } from '../../src/core/errors.ts';
import { FakeApi } from '../fakes/fake-api.ts';
import { hello, rawSocket, startBridge, USER_TOKEN, type Bridge } from '../fakes/bridge-harness.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nexus-bridge-auth-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

void describe('user token file', () => {
  void it('is created with mode 0600, holds 32 random bytes, and is stable', async () => {
    const path = join(dir, 'state', 'bridge-token');
    const token = await ensureUserToken(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.equal(await ensureUserToken(path), token);
    assert.equal((await readFile(path, 'utf8')).trim(), token);
  });

  void it('is tightened to 0600 when found readable by others', async () => {
    const path = join(dir, 'loose-token');
    await writeFile(path, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
    await chmod(path, 0o644);
    await ensureUserToken(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });
});

void describe('token authority', () => {
  const auth = new HmacTokenAuthority(USER_TOKEN);

  void it('maps the user token to the user role and a runner token to its run only', () => {
    assert.deepEqual(auth.authenticate(USER_TOKEN), { kind: 'user' });
    const token = auth.mintRunnerToken('run.with.dots');
    assert.match(token, /^r1\.run\.with\.dots\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(auth.authenticate(token), { kind: 'runner', runId: 'run.with.dots' });
  });

  void it('rejects tampered, re-targeted and foreign tokens', () => {
    const token = auth.mintRunnerToken('r1');
    assert.equal(auth.authenticate(token.replace('r1.r1.', 'r1.r2.')), undefined);
    assert.equal(auth.authenticate(`${token}x`), undefined);
    assert.equal(
      auth.authenticate(
        new HmacTokenAuthority('another-user-token-xxxxxxxx').mintRunnerToken('r1'),
      ),
      undefined,
    );
    assert.equal(auth.authenticate('r1..'), undefined);
    assert.equal(auth.authenticate(`${USER_TOKEN}x`), undefined);
    assert.equal(auth.authenticate(''), undefined);
  });
});

void describe('handshake', () => {
  let bridge: Bridge;
  before(async () => {
    bridge = await startBridge(new FakeApi());
  });
  after(async () => {
    await bridge.close();
  });

  void it('refuses a call before hello with -32001 and closes 4401', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send({ jsonrpc: '2.0', id: 7, method: 'runs.list' });
    const reply = await raw.next();
    assert.equal((reply.error as { code: number }).code, -32001);
    assert.equal(reply.id, 7);
    assert.equal(await raw.closed, 4401);
  });

  void it('refuses a wrong token with -32001 and closes 4401', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send(hello('not-the-token'));
    const reply = await raw.next();
    assert.equal((reply.error as { code: number }).code, -32001);
    assert.equal(await raw.closed, 4401);
  });

  void it('refuses garbage before hello and closes 4401', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send('{not json');
    assert.equal(((await raw.next()).error as { code: number }).code, -32700);
    assert.equal(await raw.closed, 4401);
  });

  void it('closes 4400 on an unsupported protocol version', async () => {
    const raw = await rawSocket(bridge.url);
    raw.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'hello',
      params: { protocol: 99, token: USER_TOKEN, client: { name: 'x', version: '1' } },
    });
    assert.equal(((await raw.next()).error as { code: number }).code, -32600);
    assert.equal(await raw.closed, 4400);
  });

  void it('the client surfaces a bad token as BRIDGE_UNAUTHORIZED and a dead port as BRIDGE_UNAVAILABLE', async () => {
    await assert.rejects(
      BridgeClient.connect(bridge.url, 'wrong-token-wrong-token'),
      (err: unknown) => {
        return err instanceof NexusError && err.code === 'BRIDGE_UNAUTHORIZED';
      },
    );
    const gone = await startBridge(new FakeApi());
    await gone.close();
    await assert.rejects(
      BridgeClient.connect(gone.url, USER_TOKEN, { reconnect: false }),
      (err: unknown) => {
        return err instanceof NexusError && err.code === 'BRIDGE_UNAVAILABLE' && err.exitCode === 3;
      },
    );
  });

  void it('replies with the server version and the role', async () => {
    const client = await BridgeClient.connect(bridge.url, bridge.auth.mintRunnerToken('r9'));
    assert.deepEqual(client.session, {
      protocol: 1,
      server: { name: 'nexus', version: '0.0.0-test' },
      role: 'runner',
      run: 'r9',
    });
    await client.close();
  });
});

void describe('discovery', () => {
  void it('finds a live core from core.json (0600) and the token file', async () => {
    const stateDir = join(dir, 'disc');
    const token = await ensureUserToken(tokenPath(stateDir));
    await writeCoreInfo(stateDir, {
      url: 'ws://127.0.0.1:4567',
      pid: process.pid,
      version: '1',
      started_at: 'now',
    });
    assert.equal((await stat(coreInfoPath(stateDir))).mode & 0o777, 0o600);
    assert.deepEqual(await discoverCore(stateDir, {}), { url: 'ws://127.0.0.1:4567', token });
    await removeCoreInfo(stateDir);
    assert.equal(await discoverCore(stateDir, {}), undefined);
  });

  void it('ignores core.json whose pid is gone', async () => {
    const stateDir = join(dir, 'stale');
    await ensureUserToken(tokenPath(stateDir));
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    assert.ok(dead !== undefined);
    await writeCoreInfo(stateDir, {
      url: 'ws://127.0.0.1:1',
      pid: dead,
      version: '1',
      started_at: 'now',
    });
    assert.equal(await discoverCore(stateDir, {}), undefined);
  });

  void it('lets NEXUS_CONNECT with NEXUS_TOKEN or NEXUS_TOKEN_FILE override it', async () => {
    const stateDir = join(dir, 'env');
    const file = join(dir, 'env-token');
    await writeFile(file, 'from-a-file-0123456789abcdef\n', { mode: 0o600 });
    assert.deepEqual(
      await discoverCore(stateDir, { NEXUS_CONNECT: 'ws://127.0.0.1:9', NEXUS_TOKEN: 'tok' }),
      {
        url: 'ws://127.0.0.1:9',
        token: 'tok',
      },
    );
    assert.deepEqual(
      await discoverCore(stateDir, { NEXUS_CONNECT: 'ws://127.0.0.1:9', NEXUS_TOKEN_FILE: file }),
      {
        url: 'ws://127.0.0.1:9',
        token: 'from-a-file-0123456789abcdef',
      },
    );
    await assert.rejects(discoverCore(stateDir, { NEXUS_CONNECT: 'ws://127.0.0.1:9' }), {
      code: 'USAGE',
    });
  });
});
