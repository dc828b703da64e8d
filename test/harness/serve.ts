// The launcher behind `npm start` (scripts/start.sh): installs the packaged VSIX into a throwaway
// extensions folder, starts code-server on 127.0.0.1 with a workspace, prints the URL and runs
// until Ctrl-C. With --check it instead proves the product works — the page answers 200, the
// extension is installed, and a real browser shows the Nexus container — and exits.
//
// Usage: node test/harness/serve.ts --vsix <file> --workspace <dir> [--port N] [--check]
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium, loopbackContext } from './browser.ts';
import { installVsix, runCodeServerCli, startCodeServer, type CodeServer } from './code-server.ts';

const EXTENSION_ID = 'nexus-dev.nexus-agents';

const { values } = parseArgs({
  options: {
    vsix: { type: 'string' },
    workspace: { type: 'string' },
    port: { type: 'string', default: '8765' },
    check: { type: 'boolean', default: false },
  },
});

// Listening from the start: a Ctrl-C during startup still stops the server cleanly instead of
// killing this process and orphaning code-server's (detached) process group.
const stopRequested = new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});

async function main(): Promise<number> {
  if (!values.vsix || !values.workspace) {
    console.error('usage: serve.ts --vsix <file> --workspace <dir> [--port N] [--check]');
    return 3;
  }
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-start-'));
  const extensionsDir = join(scratch, 'extensions');
  let server: CodeServer | undefined;
  try {
    await installVsix(values.vsix, extensionsDir);
    const port = await firstFreePort(Number(values.port));
    server = await startCodeServer({ extensionsDir, workspace: values.workspace, port });
    const url = server.folderUrl();
    if (values.check) return await check(server, url, extensionsDir);
    console.log('');
    console.log(`  Nexus is running in VS Code (code-server) at:  ${url}`);
    console.log(`  workspace: ${values.workspace}`);
    console.log('  Press Ctrl-C to stop.');
    console.log('');
    await stopRequested;
    console.log('\nstopping code-server…');
    return 0;
  } finally {
    await server?.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The requested port if it is free, else the next free one above it. */
async function firstFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 50; port++) {
    if (await isFree(port)) return port;
    console.log(`port ${port} is busy; trying ${port + 1}`);
  }
  throw new Error(`no free port in ${from}..${from + 49} on 127.0.0.1`);
}

async function isFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

async function check(server: CodeServer, url: string, extensionsDir: string): Promise<number> {
  const response = await fetch(url);
  await response.body?.cancel();
  console.log(`check: GET ${url} -> ${response.status}`);
  if (response.status !== 200) return 1;

  const installed = await runCodeServerCli([
    '--extensions-dir',
    extensionsDir,
    '--list-extensions',
    '--show-versions',
  ]);
  const line = installed.split('\n').find((entry) => entry.startsWith(`${EXTENSION_ID}@`));
  console.log(`check: installed extension ${line ?? '(missing)'}`);
  if (!line) return 1;

  const browser = await launchChromium();
  try {
    const { context } = await loopbackContext(browser);
    const page = await context.newPage();
    await page.goto(url);
    await page
      .locator('.activitybar a.action-label[aria-label^="Nexus"]')
      .waitFor({ timeout: 60_000 });
    console.log('check: the workbench shows the Nexus activity-bar container');
  } finally {
    await browser.close();
  }
  console.log(`check: ok (${server.url})`);
  return 0;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error('start:', error instanceof Error ? error.message : error);
  return 1;
});
