/**
 * The run detail's reads, through a real core over the real bridge: a page of an attempt's
 * transcript is readable entries, paged from a byte offset (an unfinished last line waits for
 * the next page), redacted of the secret values core knows; an agent's token cannot read
 * transcripts at all; a transcript path a runner names outside the run is refused without
 * reading anything. And the served `/runs/<id>` page: the same token as the board, the same
 * strict CSP, the detail bundle, a cookie that does not leak into the address bar.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readUserToken } from '../../src/adapters/bridge/auth.ts';
import { BridgeClient } from '../../src/adapters/bridge/client.ts';
import { tokenPath } from '../../src/adapters/bridge/discovery.ts';
import { openEmbeddedCore, type EmbeddedCore } from '../../src/adapters/embedded.ts';
import { serveCore, type ServedCore } from '../../src/adapters/serve.ts';
import { createBoardHttpHandler } from '../../src/adapters/board-http.ts';
import { NexusError } from '../../src/core/errors.ts';
import { createServer, type Server } from 'node:http';

const SECRET = 'sk-detail-test-0123456789abcdef';
const line = (v: unknown): string => `${JSON.stringify(v)}\n`;

void describe('run detail: transcripts through core and the bridge', () => {
  let core: EmbeddedCore;
  let served: ServedCore;
  let user: BridgeClient;
  let runId: string;
  let file: string;

  before(async () => {
    const ws = mkdtempSync(join(tmpdir(), 'nexus-detail-'));
    mkdirSync(join(ws, '.nexus', 'agents'), { recursive: true });
    writeFileSync(
      join(ws, '.nexus', 'agents', 'dev.md'),
      '---\nbackend: claude\nmodel: m\n---\nBuild.',
    );
    const stateDir = join(ws, '.nexus', 'state');
    process.env['DETAIL_TEST_API_KEY'] = SECRET;
    core = await openEmbeddedCore({
      workspace: ws,
      stateDir,
      userConfigDir: join(ws, 'u'),
      holdLock: 'test',
    });
    delete process.env['DETAIL_TEST_API_KEY'];
    served = await serveCore(core, { stateDir });
    user = await BridgeClient.connect(served.url, await readUserToken(tokenPath(stateDir)));
    runId = (await user.createRun({ agent: 'dev' })).id;
    await core.service.report(runId, [
      { op: 1, type: 'attempt.started', attempt: 1, transcript: 'attempts/01.jsonl' },
      // A runner that names a file outside its run (a bug, or a runner token in the wrong hands).
      { op: 2, type: 'attempt.started', attempt: 2, transcript: '../../../../etc/passwd' },
    ]);
    file = core.store.runFile(runId, 'attempts/01.jsonl');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      line({ type: 'system', subtype: 'init', session_id: 's-1', model: 'm' }) +
        line({
          type: 'assistant',
          message: {
            content: [
              { type: 'text', text: 'Running the tests.' },
              {
                type: 'tool_use',
                name: 'Bash',
                input: { command: `curl -H "Authorization: ${SECRET}" x` },
              },
            ],
          },
        }) +
        line({
          type: 'user',
          message: {
            content: [
              {
                type: 'tool_result',
                is_error: true,
                content: `Exit code 7\nkey ${SECRET} refused`,
              },
            ],
          },
        }) +
        // A line still being written when the page is read.
        '{"type":"assistant","message":{"content":[{"type":"text","text":"Do',
    );
  });
  after(async () => {
    await user?.close();
    await served?.close();
    await core?.close();
  });

  void it('reads readable entries, redacted, a page at a time; an unfinished line waits', async () => {
    const page = await user.getTranscript({ run: runId, attempt: 1, raw: true });
    assert.deepEqual(page.entries, [
      { kind: 'status', text: 'claude session s-1 · m' },
      { kind: 'message', role: 'assistant', text: 'Running the tests.' },
      { kind: 'tool', name: 'Bash', input: 'curl -H "Authorization: [redacted]" x' },
      { kind: 'result', text: 'Exit code 7\nkey [redacted] refused', error: true },
    ]);
    assert.ok(page.next < page.size, 'the unfinished line is not consumed');
    assert.equal(page.raw?.length, 3);
    assert.ok(
      (page.raw ?? []).every((l) => !l.includes(SECRET)),
      'a raw line carried the secret',
    );

    appendFileSync(file, 'ne."}]}}\n');
    const rest = await user.getTranscript({ run: runId, attempt: 1, from: page.next });
    assert.deepEqual(rest.entries, [{ kind: 'message', role: 'assistant', text: 'Done.' }]);
    assert.equal(rest.next, rest.size);

    const small = await user.getTranscript({ run: runId, attempt: 1, maxBytes: 1 });
    assert.equal(small.entries.length, 1, 'one line per page at the smallest size');
  });

  void it('the first page carries the prompt the attempt was sent, redacted; later pages do not', async () => {
    assert.equal((await user.getTranscript({ run: runId, attempt: 1 })).prompt, undefined);
    writeFileSync(
      core.store.runFile(runId, 'attempts/01.prompt.md'),
      `Fix the tests. Your key is ${SECRET}.`,
    );
    const first = await user.getTranscript({ run: runId, attempt: 1 });
    assert.equal(first.prompt, 'Fix the tests. Your key is [redacted].');
    const later = await user.getTranscript({ run: runId, attempt: 1, from: first.next });
    assert.equal(later.prompt, undefined);
  });

  void it('names what is wrong: no such attempt; a transcript outside the run is not read', async () => {
    await assert.rejects(
      user.getTranscript({ run: runId, attempt: 9 }),
      (e: unknown) =>
        e instanceof NexusError && e.code === 'USAGE' && /no attempt 9/.test(e.message),
    );
    await assert.rejects(
      user.getTranscript({ run: runId, attempt: 2 }),
      (e: unknown) =>
        e instanceof NexusError && e.code === 'STATE_CORRUPT' && /outside the run/.test(e.message),
    );
  });

  void it('an agent token may not read transcripts, not even its own run', async () => {
    const agent = await BridgeClient.connect(served.url, served.agentToken(runId), {
      reconnect: false,
    });
    try {
      await assert.rejects(
        agent.getTranscript({ run: runId, attempt: 1 }),
        (e: unknown) => e instanceof NexusError && e.code === 'BRIDGE_UNAUTHORIZED',
      );
    } finally {
      await agent.close();
    }
  });
});

void describe('run detail: the served /runs/<id> page', () => {
  let server: Server;
  let base: string;
  const token = 'detail-page-token-0123456789';

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nexus-detail-page-'));
    writeFileSync(join(dir, 'board.js'), '/* board */');
    writeFileSync(join(dir, 'run-detail.js'), '/* run detail */');
    server = createServer(createBoardHttpHandler({ token, bundleFile: join(dir, 'board.js') }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(() => server.close());

  const get = (
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }> =>
    new Promise((resolve, reject) => {
      request(`${base}${path}`, { headers }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
        .on('error', reject)
        .end();
    });

  void it('needs the board token; trades it for a cookie the page and its bundle accept', async () => {
    assert.equal((await get('/runs/abc123')).status, 401);
    assert.equal((await get('/board/run-detail.js')).status, 401);
    assert.equal((await get('/runs/abc123?token=wrong')).status, 401);
    const traded = await get('/runs/abc123?token=' + token);
    assert.equal(traded.status, 303);
    assert.equal(
      traded.headers['location'],
      '/runs/abc123',
      'the token stays out of the address bar',
    );
    const cookie = String(traded.headers['set-cookie']).split(';')[0]!;
    assert.match(String(traded.headers['set-cookie']), /HttpOnly; SameSite=Strict; Path=\//);

    const page = await get('/runs/abc123', { cookie });
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-[^']+'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(page.body, /<script nonce="[^"]+" src="\/board\/run-detail.js"><\/script>/);
    assert.match(page.body, /data-run="abc123"/);
    assert.doesNotMatch(page.body, /<script>(?!<)/, 'no inline script');
    assert.equal((await get('/board/run-detail.js', { cookie })).body, '/* run detail */');
    // The board still works with the same cookie.
    assert.equal((await get('/board', { cookie })).status, 200);
  });

  void it('refuses a run path that is not an id', async () => {
    assert.equal(
      (await get('/runs/..%2F..%2Fetc', { authorization: `Bearer ${token}` })).status,
      404,
    );
    assert.equal((await get('/runs/a"b', { authorization: `Bearer ${token}` })).status, 404);
  });
});
