/**
 * Start Run's checks before a run is created (src/vscode/commands/start-preflight.ts), against
 * real files: an executable found on PATH as a shell finds it, a missing one named with its
 * install command, the openai backend's key needed only for api.openai.com, a cluster counted
 * as configured only when a kubeconfig is readable (or in-cluster).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentFrontmatter, type AgentDefinition } from '../../src/core/domain/definitions.ts';
import {
  backendProblem,
  clusterConfigured,
  offeredRuntimes,
} from '../../src/vscode/commands/start-preflight.ts';

function agent(frontmatter: Record<string, unknown>): AgentDefinition {
  return {
    ...AgentFrontmatter.parse(frontmatter),
    name: 'a',
    instructions: '',
    path: 'a.md',
  };
}

test('a backend CLI is looked up on PATH; missing, it is named with how to install it', async () => {
  const bin = mkdtempSync(join(tmpdir(), 'nexus-bin-'));
  const env = { PATH: `/nonexistent:${bin}` };
  const missing = await backendProblem(agent({ backend: 'codex' }), 'local', {}, env);
  assert.equal(missing?.fix, 'install');
  assert.match(
    missing?.message ?? '',
    /codex CLI \('codex'\) is not installed.*npm install -g @openai\/codex/,
  );
  // A file that is there but not executable does not count.
  writeFileSync(join(bin, 'codex'), '#!/bin/sh\n');
  assert.equal(
    (await backendProblem(agent({ backend: 'codex' }), 'local', {}, env))?.fix,
    'install',
  );
  chmodSync(join(bin, 'codex'), 0o755);
  assert.equal(await backendProblem(agent({ backend: 'codex' }), 'local', {}, env), undefined);
  // backend_settings.bin wins over PATH; a pod brings its own CLI.
  const pinned = agent({ backend: 'claude', backend_settings: { bin: join(bin, 'nope') } });
  assert.match(
    (await backendProblem(pinned, 'local', {}, env))?.message ?? '',
    /\/nope'\) is not installed/,
  );
  assert.equal(await backendProblem(pinned, 'kubernetes', {}, env), undefined);
});

test('the openai backend needs a key for api.openai.com, not for a local server', async () => {
  const official = agent({ backend: 'openai', model: 'm' });
  assert.equal((await backendProblem(official, 'local', {}, {}))?.fix, 'setApiKey');
  assert.equal(await backendProblem(official, 'local', { OPENAI_API_KEY: 'k' }, {}), undefined);
  assert.equal(await backendProblem(official, 'local', {}, { OPENAI_API_KEY: 'k' }), undefined);
  const local = agent({
    backend: 'openai',
    model: 'm',
    backend_settings: { base_url: 'http://127.0.0.1:1/v1' },
  });
  assert.equal(await backendProblem(local, 'local', {}, {}), undefined);
  const ownVar = agent({
    backend: 'openai',
    model: 'm',
    backend_settings: { api_key_env: 'MY_KEY' },
  });
  assert.match(
    (await backendProblem(ownVar, 'local', { OPENAI_API_KEY: 'k' }, {}))?.message ?? '',
    /MY_KEY/,
  );
});

test('kubernetes is offered only where a cluster is configured (or the agent asks for it)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-kube-'));
  assert.equal(await clusterConfigured({ KUBECONFIG: join(dir, 'none') }), false);
  writeFileSync(join(dir, 'config'), 'apiVersion: v1\n');
  assert.equal(
    await clusterConfigured({ KUBECONFIG: `${join(dir, 'none')}:${join(dir, 'config')}` }),
    true,
  );
  assert.equal(
    await clusterConfigured({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBECONFIG: join(dir, 'none') }),
    true,
  );
  assert.deepEqual(offeredRuntimes('local', 'kubernetes', false), ['local']);
  assert.deepEqual(offeredRuntimes('local', 'kubernetes', true), ['kubernetes', 'local']);
  assert.deepEqual(offeredRuntimes('kubernetes', 'local', false), ['kubernetes', 'local']);
});
