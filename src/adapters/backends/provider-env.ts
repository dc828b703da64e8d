/**
 * What each backend's CLI (or client) reads from its environment: the provider credentials and
 * the endpoint overrides. One list, for the runner (which keeps other providers' keys from the
 * agent) and for the Kubernetes runtime (which puts exactly these in the run's Secret).
 */
import type { BackendName } from '../../core/domain/definitions.ts';
import type { RunConfigPayload } from '../../protocol/payload.ts';

export const PROVIDER_KEYS: Record<BackendName, readonly string[]> = {
  claude: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
  codex: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
  openai: ['OPENAI_API_KEY'],
  passive: [],
};

const PROVIDER_ENDPOINTS: Record<BackendName, readonly string[]> = {
  claude: ['ANTHROPIC_BASE_URL'],
  codex: ['OPENAI_BASE_URL'],
  openai: ['OPENAI_BASE_URL'],
  passive: [],
};

/** Provider keys the agent of this backend has no use for: kept out of its environment. */
export function foreignProviderKeys(backend: BackendName): string[] {
  const own = new Set(PROVIDER_KEYS[backend]);
  return Object.values(PROVIDER_KEYS)
    .flat()
    .filter((k) => !own.has(k));
}

/**
 * The git credentials the runner pushes a run's change with (`can_push`): an HTTPS token and
 * its user name. The runner's alone: never in the agent's environment.
 */
export const GIT_PUSH_KEYS = ['NEXUS_GIT_TOKEN', 'NEXUS_GIT_USERNAME'] as const;

/**
 * The provider env a run's backend needs, taken from `env` (for a pod's Secret), and the git
 * push credentials when the agent may push.
 */
export function providerEnv(
  payload: Pick<RunConfigPayload, 'backend' | 'backend_settings'> & {
    permissions?: { can_push: boolean } | undefined;
  },
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const names = [
    ...(payload.permissions?.can_push ? GIT_PUSH_KEYS : []),
    ...PROVIDER_KEYS[payload.backend],
    ...PROVIDER_ENDPOINTS[payload.backend],
    ...(payload.backend_settings.api_key_env ? [payload.backend_settings.api_key_env] : []),
  ];
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = env[n];
    if (v) out[n] = v;
  }
  return out;
}
