/** The backend for a payload, loaded on demand (each pulls in its own dependencies). */
import type { BackendName } from '../src/core/domain/definitions.ts';
import { NexusError } from '../src/core/errors.ts';
import type { Backend } from '../src/core/ports.ts';

export async function createBackend(name: BackendName, env: NodeJS.ProcessEnv): Promise<Backend> {
  if (env.NEXUS_TEST_BACKEND) {
    // Tests and benchmarks may substitute a scripted backend module (never set in production).
    const mod = (await import(env.NEXUS_TEST_BACKEND)) as { createBackend: () => Backend };
    return mod.createBackend();
  }
  switch (name) {
    case 'claude':
      return new (await import('../src/adapters/backends/claude.ts')).ClaudeBackend();
    case 'codex':
      return new (await import('../src/adapters/backends/codex.ts')).CodexBackend();
    case 'openai':
      return new (await import('../src/adapters/backends/openai.ts')).OpenAiBackend();
    case 'passive':
      throw new NexusError(
        'USAGE',
        'a passive run has no backend to start: drive it with `nexus task`',
      );
  }
}

export { foreignProviderKeys } from '../src/adapters/backends/provider-env.ts';
