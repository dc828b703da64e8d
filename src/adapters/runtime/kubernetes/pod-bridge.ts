/**
 * The bridge path for pods (decision 30): when the core that launches a run serves a bridge the
 * cluster can reach (`nexus serve --pod-bridge URL`), the run's Secret also carries that URL and
 * the run's two bridge credentials, and the runner in the pod reports over the bridge instead of
 * its log. The credentials go into the Secret only — never the Job spec, an env literal, a label
 * or a log — and the init container stages them where only the runner reads (and deletes) them.
 */
import * as z from 'zod/mini';
import { NexusError } from '../../../core/errors.ts';

/** The Secret's file with the bridge, beside the payload and the report key. */
export const POD_BRIDGE_FILE = 'bridge.json';

/** What `bridge.json` holds. */
export const PodBridge = z.strictObject({
  /** `ws://` or `wss://`: where core's bridge is reached from the pod. */
  url: z.string().check(z.regex(/^wss?:\/\/[^\s/]+/)),
  /** The run's runner token: the judge's, the runner keeps it. */
  token: z.string().check(z.minLength(1)),
  /** The run's agent token: what the runner hands its agent. */
  agent_token: z.string().check(z.minLength(1)),
});
export type PodBridge = z.infer<typeof PodBridge>;

/** Refuses a pod bridge URL that is not `ws://host[:port]` or `wss://…` (exit 3). */
export function checkPodBridgeUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new NexusError('USAGE', `the pod bridge URL '${url}' is not a URL`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:')
    throw new NexusError('USAGE', `the pod bridge URL must be ws:// or wss://, got '${url}'`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash)
    throw new NexusError('USAGE', 'the pod bridge URL takes no credentials, query or fragment');
  return url.replace(/\/$/, '');
}

/** The host name in a bridge URL, as a `Host` header names it (what the bridge must accept). */
export function podBridgeHost(url: string): string {
  return new URL(url).hostname.toLowerCase();
}

/**
 * The Secret's bridge file for a run, when core serves a bridge for pods and the launcher gave
 * this run its credentials (a core host does; the terminal's embedded core serves no bridge, so
 * its pods report on their log). Empty otherwise.
 */
export function podBridgeFiles(
  url: string | undefined,
  runnerEnv: Record<string, string>,
): Record<string, string> {
  const token = runnerEnv.NEXUS_TOKEN;
  const agentToken = runnerEnv.NEXUS_AGENT_TOKEN;
  if (!url || !token || !agentToken) return {};
  const bridge: PodBridge = { url, token, agent_token: agentToken };
  return { [POD_BRIDGE_FILE]: JSON.stringify(bridge) };
}
