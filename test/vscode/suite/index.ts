// Mocha entry for the extension-host suite: the module VS Code loads as `extensionTestsPath`,
// both inside code-server (test/vscode/run-code-server.ts) and under @vscode/test-electron
// (test/vscode/run-electron.ts). esbuild bundles it to out/test/vscode/suite/index.cjs with
// `mocha` left external (resolved from node_modules when the extension host loads it).
import Mocha from 'mocha';
import { NexusReporter } from './reporter.ts';

/**
 * Every test file of the suite, in run order. The suite is one bundle, so it cannot glob:
 * to add tests, create `test/vscode/suite/<topic>.test.ts` (mocha `suite`/`test` globals,
 * `node:assert/strict`) and add one line here.
 */
const testFiles: Readonly<Record<string, () => Promise<unknown>>> = {
  'activation.test.ts': () => import('./activation.test.ts'),
  'views.test.ts': () => import('./views.test.ts'),
};

/** Called by VS Code's extension host; resolving means pass, rejecting means fail. */
export async function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: Number(process.env['NEXUS_VSCODE_TEST_TIMEOUT_MS'] ?? 30_000),
    reporter: NexusReporter,
  });
  const grep = process.env['NEXUS_VSCODE_TEST_GREP'];
  if (grep) mocha.grep(grep);
  // What `mocha.loadFiles` does for files on disk: expose the ui's globals, then load.
  for (const [file, load] of Object.entries(testFiles)) {
    mocha.suite.emit('pre-require', globalThis, file, mocha);
    mocha.suite.emit('require', await load(), file, mocha);
    mocha.suite.emit('post-require', globalThis, file, mocha);
  }
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
}
