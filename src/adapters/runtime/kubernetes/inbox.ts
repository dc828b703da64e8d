/**
 * The run's inbox ConfigMap, core's only way into a pod: a person's approval decisions
 * (`approval.<id>`), the messages queued for the agent (`message.<id>`) and the attachments
 * (`attachments.json`, `attachment.<sha256>`: `inbox-attachments.ts`). Core writes it with
 * the launcher's credentials; the pod mounts it read-only and has no API access, so nothing in
 * the pod can write it. Messages are reconciled from the run's record: an entry for every
 * message still waiting, none for one removed or delivered. The runner delivers an entry's
 * message at its next attempt boundary and forgets nothing it delivered, so an entry that
 * lingers (core away, a sync in flight) is not delivered twice.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { QueuedMessage, RunManifest } from '../../../core/domain/run.ts';
import { pendingMessages } from '../../../core/messages.ts';
import { kubernetesClient } from './kubeconfig.ts';
import { apiCode, clusterError } from './job-state.ts';

export const INBOX_PREFIX = { approval: 'approval.', message: 'message.' } as const;

/** What an inbox `message.<id>` entry holds (JSON). */
export type InboxMessage = Pick<QueuedMessage, 'id' | 'at' | 'by' | 'text' | 'via'>;

/** The `message.<id>` entries the inbox should hold for a run: every message still waiting. */
export function messageEntries(m: Pick<RunManifest, 'messages'>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const x of pendingMessages(m)) {
    const entry: InboxMessage = { id: x.id, at: x.at, by: x.by, text: x.text };
    if (x.via) entry.via = x.via;
    out[`${INBOX_PREFIX.message}${x.id}`] = JSON.stringify(entry);
  }
  return out;
}

/** The manifest the pod starts from: waiting messages come through the inbox alone. */
export function podManifest(m: RunManifest): RunManifest {
  return { ...m, messages: (m.messages ?? []).filter((x) => x.delivered_attempt !== undefined) };
}

/** What an inbox ConfigMap holds: text entries, and bytes (base64) for the attachments. */
export interface InboxContent {
  data: Record<string, string>;
  binaryData: Record<string, string>;
}

/**
 * Changes a run's inbox ConfigMap (read, change, replace; a conflict is retried): `change`
 * gets the current content and returns the new one, or undefined when nothing is to change.
 */
export async function updateInboxContent(
  kc: KubeConfig,
  namespace: string,
  name: string,
  change: (content: InboxContent) => InboxContent | undefined,
): Promise<void> {
  const k8s = await kubernetesClient();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  for (let i = 0; ; i++) {
    try {
      const cm = await api.readNamespacedConfigMap({ name, namespace });
      const next = change({ data: { ...cm.data }, binaryData: { ...cm.binaryData } });
      if (!next) return;
      cm.data = next.data;
      cm.binaryData = Object.keys(next.binaryData).length ? next.binaryData : undefined;
      await api.replaceNamespacedConfigMap({ name, namespace, body: cm });
      return;
    } catch (err) {
      if (apiCode(err) !== 409 || i >= 4) throw clusterError(err, `update ${namespace}/${name}`);
    }
  }
}

/** Changes a run's inbox's text entries (its bytes left alone). */
export function updateInbox(
  kc: KubeConfig,
  namespace: string,
  name: string,
  change: (data: Record<string, string>) => Record<string, string> | undefined,
): Promise<void> {
  return updateInboxContent(kc, namespace, name, (content) => {
    const data = change(content.data);
    return data && { data, binaryData: content.binaryData };
  });
}

/** Adds one entry to a run's inbox. */
export function putInboxEntry(
  kc: KubeConfig,
  namespace: string,
  name: string,
  key: string,
  value: unknown,
): Promise<void> {
  return updateInbox(kc, namespace, name, (data) => ({ ...data, [key]: JSON.stringify(value) }));
}

/** Makes the inbox's `message.*` entries exactly `entries` (others left alone). */
export function syncMessageEntries(
  kc: KubeConfig,
  namespace: string,
  name: string,
  entries: Record<string, string>,
): Promise<void> {
  return updateInbox(kc, namespace, name, (data) => {
    const next: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) if (!k.startsWith(INBOX_PREFIX.message)) next[k] = v;
    Object.assign(next, entries);
    return sameEntries(data, next) ? undefined : next;
  });
}

export function sameEntries(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
