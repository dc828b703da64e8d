// The `nexus-runner` executable. The Node version is checked before the runner's modules load
// (see src/adapters/node-version.ts).
import { enableCompileCache } from '../src/adapters/compile-cache.ts';
import { NODE_TOO_OLD_EXIT, nodeTooOld } from '../src/adapters/node-version.ts';

const tooOld = nodeTooOld('nexus-runner', process.argv[1]);
if (tooOld) {
  process.stderr.write(tooOld);
  process.exitCode = NODE_TOO_OLD_EXIT;
} else {
  await enableCompileCache();
  const { runnerMain } = await import('./main.ts');
  process.exitCode = await runnerMain(process.argv.slice(2));
}
