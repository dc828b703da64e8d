// The `nexus-runner` executable.
import module from 'node:module';

module.enableCompileCache?.();
const { runnerMain } = await import('./main.ts');
process.exitCode = await runnerMain(process.argv.slice(2));
