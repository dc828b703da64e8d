/**
 * What Start Run checks before a run is created, so a missing backend CLI or API key is found
 * with its fix (how to install; Set API Key) instead of as a failed run and its argv. The
 * runtime's own preflight (a cluster configured, a repository to clone) runs in core, when the
 * run is created. Which runtimes to offer: kubernetes only where a cluster is configured.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import type { AgentDefinition, RuntimeKind } from '../../core/domain/definitions.ts';

export interface BackendProblem {
  message: string;
  /** The fix a button offers. */
  fix: 'install' | 'setApiKey';
}

const CLI: Record<'claude' | 'codex', { env: string; install: string }> = {
  claude: { env: 'NEXUS_CLAUDE_BIN', install: 'npm install -g @anthropic-ai/claude-code' },
  codex: { env: 'NEXUS_CODEX_BIN', install: 'npm install -g @openai/codex' },
};

export const installHint = (backend: 'claude' | 'codex'): string => CLI[backend].install;

/** Finds an executable as a shell would: a path as is, a bare name on PATH. */
export async function findExecutable(bin: string, path: string | undefined): Promise<boolean> {
  const candidates =
    isAbsolute(bin) || bin.includes('/')
      ? [bin]
      : (path ?? '')
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, bin));
  return anyAccessible(candidates, constants.X_OK);
}

/** Whether any of the paths is there with the access asked (execute, read). */
async function anyAccessible(paths: readonly string[], mode: number): Promise<boolean> {
  for (const p of paths) {
    try {
      await access(p, mode);
      return true;
    } catch {
      // next
    }
  }
  return false;
}

/**
 * Why the agent's backend could not start here, or undefined. Only for the local runtime (a pod
 * brings the CLIs in its image and its key in a Secret). `keys`: the API keys the editor holds.
 */
export async function backendProblem(
  agent: AgentDefinition,
  runtime: RuntimeKind,
  keys: Readonly<Record<string, string>>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BackendProblem | undefined> {
  if (runtime !== 'local') return undefined;
  const settings = agent.backend_settings;
  if (agent.backend === 'claude' || agent.backend === 'codex') {
    const cli = CLI[agent.backend];
    const bin = settings.bin ?? env[cli.env] ?? agent.backend;
    if (await findExecutable(bin, env.PATH)) return undefined;
    return {
      message: `the ${agent.backend} CLI ('${bin}') is not installed here (not found on PATH). Install it with \`${cli.install}\`, or set backend_settings.bin in ${agent.name}'s definition.`,
      fix: 'install',
    };
  }
  if (agent.backend === 'openai') {
    // A local OpenAI-compatible server often needs no key; api.openai.com always does.
    const official = !(settings.base_url ?? settings.env.OPENAI_BASE_URL ?? env.OPENAI_BASE_URL);
    const keyVar = settings.api_key_env ?? 'OPENAI_API_KEY';
    const key = settings.env[keyVar] ?? keys[keyVar] ?? env[keyVar];
    if (!official || key) return undefined;
    return {
      message: `the openai backend needs an API key for api.openai.com, and none is set (${keyVar}). Set one with Set API Key, or point the agent at a local server (backend_settings.base_url).`,
      fix: 'setApiKey',
    };
  }
  return undefined;
}

/** Whether a Kubernetes cluster is configured for this editor: a kubeconfig, or in-cluster. */
export async function clusterConfigured(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (env.KUBERNETES_SERVICE_HOST) return true;
  const files = env.KUBECONFIG
    ? env.KUBECONFIG.split(delimiter).filter(Boolean)
    : [join(homedir(), '.kube', 'config')];
  return anyAccessible(files, constants.R_OK);
}

/** The runtimes Start Run offers: the agent's own first, kubernetes only with a cluster. */
export function offeredRuntimes(
  agentRuntime: RuntimeKind,
  preferred: RuntimeKind,
  cluster: boolean,
): RuntimeKind[] {
  const all: RuntimeKind[] =
    cluster || agentRuntime === 'kubernetes' ? ['local', 'kubernetes'] : ['local'];
  const first = all.includes(agentRuntime) && agentRuntime !== 'local' ? agentRuntime : preferred;
  return all.sort((a, b) => (a === first ? -1 : b === first ? 1 : 0));
}
