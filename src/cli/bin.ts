// The `nexus` executable. The Node version is checked first, before any module that needs
// Node 22 loads (see node-version.ts). Enabling V8's compile cache (in the user's cache folder,
// see compile-cache.ts) before the rest is loaded roughly halves start-up on repeat calls, which
// matters for an agent that calls `nexus task` often.
import { enableCompileCache } from '../adapters/compile-cache.ts';
import { NODE_TOO_OLD_EXIT, nodeTooOld } from '../adapters/node-version.ts';
import { writeFd } from './fd-write.ts';
import { quickAnswer } from './overview.ts';

// No top-level await: this file is built as CommonJS (esbuild.mjs says why).
async function run(): Promise<void> {
  const tooOld = nodeTooOld('nexus', process.argv[1]);
  if (tooOld) {
    process.stderr.write(tooOld);
    process.exitCode = NODE_TOO_OLD_EXIT;
    return;
  }
  const argv = process.argv.slice(2);
  const quick = quickAnswer(argv);
  if (quick) {
    writeFd(1, `${quick.text}\n`);
    process.exitCode = quick.code;
    return;
  }
  await enableCompileCache();
  // An agent's `nexus task …`, and `nexus list runs`, load only the run store's commands (one
  // bundle file, esbuild.mjs); every other command the full CLI.
  const storeOnly = argv[0] === 'task' || (argv[0] === 'list' && argv[1] === 'runs');
  const { main } = storeOnly ? await import('./task-main.ts') : await import('./main.ts');
  process.exitCode = await main(argv);
}

void run();
