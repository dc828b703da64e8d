// The `nexus` executable. The Node version is checked first, before any module that needs
// Node 22 loads (see node-version.ts). Enabling V8's compile cache before the rest is loaded
// roughly halves start-up on repeat calls, which matters for an agent that calls `nexus task`
// often.
import module from 'node:module';
import { NODE_TOO_OLD_EXIT, nodeTooOld } from '../adapters/node-version.ts';

const tooOld = nodeTooOld('nexus', process.argv[1]);
if (tooOld) {
  process.stderr.write(tooOld);
  process.exitCode = NODE_TOO_OLD_EXIT;
} else {
  module.enableCompileCache?.();
  const { main } = await import('./main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
