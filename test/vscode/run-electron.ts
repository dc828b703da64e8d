// The desktop runner for the extension-host suite: @vscode/test-electron downloads a VS Code
// build and runs test/vscode/suite in it. It needs internet access to update.code.visualstudio.com,
// so it is NOT run by `npm test` or CI (those machines reach only the npm and Debian registries;
// they run the same suite in code-server via run-code-server.ts). Use it on a desktop:
//   npm run build && bash scripts/n node test/vscode/run-electron.ts
// (Linux without a display: wrap it in `xvfb-run -a`.)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function main(): Promise<number> {
  const workspace = await mkdtemp(join(tmpdir(), 'nexus-electron-ws-'));
  try {
    return await runTests({
      version: process.env['NEXUS_VSCODE_VERSION'] ?? 'stable',
      extensionDevelopmentPath: repoRoot,
      extensionTestsPath: join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.cjs'),
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
      extensionTestsEnv: {
        NEXUS_TEST_RESULTS: join(repoRoot, 'test-results', 'vscode', 'results.json'),
      },
    });
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

process.exitCode = await main().catch((error: unknown) => {
  console.error('vscode tests (electron):', error);
  return 1;
});
