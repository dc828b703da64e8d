// The `nexus` executable. Enabling V8's compile cache before anything else is loaded roughly
// halves start-up on repeat calls, which matters for an agent that calls `nexus task` often.
import module from 'node:module';

module.enableCompileCache?.();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
