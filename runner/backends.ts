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

/** The provider credentials each backend's CLI (or client) reads from its environment. */
const PROVIDER_KEYS: Record<BackendName, readonly string[]> = {
  claude: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
  codex: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  openai: ['OPENAI_API_KEY'],
  passive: [],
};

/** Provider keys the agent of this backend has no use for: kept out of its environment. */
export function foreignProviderKeys(backend: BackendName): string[] {
  const own = new Set(PROVIDER_KEYS[backend]);
  return Object.values(PROVIDER_KEYS)
    .flat()
    .filter((k) => !own.has(k));
}
