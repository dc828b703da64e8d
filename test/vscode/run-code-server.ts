// Runs the extension-host suite (test/vscode/suite) inside a real VS Code: code-server on
// 127.0.0.1 with the smoke-test driver, opened by headless Chromium with an extension-development
// payload. This is what @vscode/test-electron does on a desktop, done offline (see
// test/vscode/run-electron.ts for the desktop runner). Expects `npm run build` to have run.
//
// Prints the suite's output, then a closing line `N passed, N failed`; exits non-zero on any
// failure, on a suite that could not load, or on timeout.
//
// Env: NEXUS_VSCODE_TEST_GREP (mocha grep), NEXUS_VSCODE_TIMEOUT_MS (whole run, default 300 s).
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { launchChromium, loopbackContext } from '../harness/browser.ts';
import { startCodeServer } from '../harness/code-server.ts';
import type { SuiteResults } from './suite/reporter.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const suiteEntry = join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.cjs');
const resultsFile = join(repoRoot, 'test-results', 'vscode', 'results.json');
const logFile = join(repoRoot, 'test-results', 'vscode', 'workbench.log');
const runTimeoutMs = Number(process.env['NEXUS_VSCODE_TIMEOUT_MS'] ?? 300_000);

/**
 * The workbench and the extension host share one log hook; these workbench chatters carry no
 * information for a test run (the full log is kept in test-results/vscode/workbench.log).
 */
const NOISE = [
  'Ignoring fetching additional builtin extensions',
  'Updating additional builtin extensions cache',
  'Resolving connection token',
  'Resolved connection token',
  'Creating a socket',
  '[reconnection-grace-time]',
  '[Service Worker]',
  '[AgentHost:remote]',
  '[AccountPolicyGate]',
  'No search provider registered',
];

async function main(): Promise<number> {
  for (const built of [suiteEntry, join(repoRoot, 'dist', 'extension.cjs')]) {
    if (!existsSync(built)) {
      console.error(`vscode tests: ${built} is missing; run \`npm run build\` first.`);
      return 3;
    }
  }
  await rm(resultsFile, { force: true });
  await mkdir(dirname(resultsFile), { recursive: true });
  // A throwaway copy of the example workspace: the suite reads its agents and assignments and
  // writes run state into it. User-level definitions come from an empty folder, not ~/.config.
  const scratch = await mkdtemp(join(tmpdir(), 'nexus-vscode-ws-'));
  const workspace = join(scratch, 'workspace');
  await cp(join(repoRoot, 'examples', 'workspace'), workspace, { recursive: true });
  const server = await startCodeServer({
    smokeTestDriver: true,
    workspace,
    env: { NEXUS_CONFIG_DIR: join(scratch, 'user-config') },
  });
  const browser = await launchChromium();
  try {
    const { context, blocked } = await loopbackContext(browser);
    const page = await context.newPage();
    const log: string[] = [];
    let finish: (code: number) => void = () => {};
    const exitCode = new Promise<number>((resolveExit) => (finish = resolveExit));
    // The workbench calls these (smoke-test driver): the exit code of the test run, and the
    // extension host's console output, which carries mocha's spec report.
    await page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
    await page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => {
      const line = format(...args);
      log.push(`[${type}] ${line}`);
      if (!NOISE.some((noise) => line.startsWith(noise))) console.log(line);
    });
    await page.goto(payloadUrl(server.url, workspace));
    const outcome = await Promise.race([
      exitCode,
      new Promise<'timeout'>((resolveTimeout) =>
        setTimeout(() => resolveTimeout('timeout'), runTimeoutMs).unref(),
      ),
    ]);
    if (blocked.length > 0) console.log(`(blocked non-loopback requests: ${blocked.join(', ')})`);
    await writeFile(logFile, log.join('\n'));
    return await report(outcome, server.output());
  } finally {
    await browser.close();
    await server.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The page URL whose payload tells the workbench to load our extension and run the suite. */
function payloadUrl(base: string, workspace: string): string {
  const remote = (path: string): string => `vscode-remote://${new URL(base).host}${path}`;
  const payload = [
    ['extensionDevelopmentPath', remote(repoRoot)],
    ['extensionTestsPath', remote(suiteEntry)],
    ['skipWelcome', 'true'],
    ['extensionEnvironment', JSON.stringify({ NEXUS_TEST_RESULTS: resultsFile, ...passThrough() })],
  ];
  return `${base}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** Test knobs forwarded from this process to the extension host. */
function passThrough(): Record<string, string> {
  const names = ['NEXUS_VSCODE_TEST_GREP', 'NEXUS_VSCODE_TEST_TIMEOUT_MS'];
  return Object.fromEntries(
    names.flatMap((name) => {
      const value = process.env[name];
      return value === undefined ? [] : [[name, value]];
    }),
  );
}

async function report(outcome: number | 'timeout', serverOutput: string): Promise<number> {
  let results: SuiteResults | undefined;
  try {
    results = JSON.parse(await readFile(resultsFile, 'utf8')) as SuiteResults;
  } catch {
    // No results file: the suite never ran to its end.
  }
  for (const test of results?.tests ?? []) {
    if (test.state === 'failed') console.log(`\nFAILED: ${test.title}\n${test.error ?? ''}`);
  }
  if (outcome === 'timeout') {
    console.log(
      `\nvscode tests: no result within ${runTimeoutMs} ms. Server output:\n${serverOutput}`,
    );
  } else if (outcome !== 0 && !results) {
    console.log(
      `\nvscode tests: the suite did not load (exit ${outcome}). Server output:\n${serverOutput}`,
    );
  }
  const passed = results?.passed ?? 0;
  // A run that never produced results counts as one failure, so the closing line cannot read
  // "0 failed" for a suite that crashed.
  const failed = results?.failed ?? 1;
  console.log(`${passed} passed, ${failed} failed`);
  return outcome === 0 && results !== undefined && failed === 0 && passed > 0 ? 0 : 1;
}

process.exitCode = await main().catch((error: unknown) => {
  console.error('vscode tests:', error);
  console.log('0 passed, 1 failed');
  return 1;
});
