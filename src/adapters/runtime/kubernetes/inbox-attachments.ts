/**
 * A Kubernetes run's attachments (its own and its group's, as `listAttachments` gives them),
 * carried in its inbox ConfigMap: the index `attachments.json` (`[{name, size, sha256, run}]`)
 * and the bytes as `binaryData` keys `attachment.<sha256>`, one per content. The pod has no API
 * access and no way to core but the inbox (decision 31); the runner brings the workspace's
 * `.nexus-attachments/` in line with the index before each attempt (`runner/pod-attachments.ts`).
 * The API server caps a ConfigMap at 1 MiB, so the attachments are capped at
 * `MAX_POD_ATTACHMENT_BYTES`; `nexus attachment add` refuses past it, this refuses the start.
 */
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { NexusApi } from '../../../core/api.ts';
import type { ListedAttachment } from '../../../core/attachments.ts';
import { MAX_POD_ATTACHMENT_BYTES } from '../../../core/domain/limits.ts';
import { NexusError } from '../../../core/errors.ts';
import { sameEntries, updateInboxContent } from './inbox.ts';

export const ATTACHMENTS_INDEX = 'attachments.json';
export const ATTACHMENT_PREFIX = 'attachment.';

/** Where the runtime reads a run's attachments (core's service). */
export type AttachmentSource = Pick<NexusApi, 'listAttachments' | 'getAttachment'>;

/** One entry of `attachments.json`. */
export interface InboxAttachment {
  name: string;
  size: number;
  sha256: string;
  /** The run it belongs to (this run, or another of its group). */
  run: string;
}

/** What the inbox is to hold of a run's attachments, before the bytes are read. */
export interface AttachmentIndex {
  list: ListedAttachment[];
  /** `attachments.json`'s text; also what tells one state from another. */
  index: string;
  total: number;
}

export async function attachmentIndex(
  src: AttachmentSource,
  runId: string,
): Promise<AttachmentIndex> {
  const list = await src.listAttachments(runId);
  const entries: InboxAttachment[] = list.map((a) => ({
    name: a.name,
    size: a.size,
    sha256: a.sha256,
    run: a.run,
  }));
  return {
    list,
    index: JSON.stringify(entries),
    total: list.reduce((n, a) => n + a.size, 0),
  };
}

export function overCapMessage(runId: string, total: number): string {
  return `run ${runId}'s attachments (its own and its group's) total ${total} bytes: a Kubernetes run takes at most ${MAX_POD_ATTACHMENT_BYTES} bytes (${MAX_POD_ATTACHMENT_BYTES / 1024} KiB), which travel in its inbox ConfigMap; remove some`;
}

/** The inbox's attachment entries: `data` (the index; none without attachments) and bytes. */
export async function attachmentEntries(
  src: AttachmentSource,
  runId: string,
  at: AttachmentIndex,
): Promise<{ data: Record<string, string>; binaryData: Record<string, string> }> {
  const binaryData: Record<string, string> = {};
  for (const a of at.list) {
    const key = `${ATTACHMENT_PREFIX}${a.sha256}`;
    if (key in binaryData) continue;
    const { data } = await src.getAttachment(runId, a.name);
    const sha = createHash('sha256').update(Buffer.from(data, 'base64')).digest('hex');
    // Replaced between the listing and the read: the next look lists it anew.
    if (sha !== a.sha256)
      throw new NexusError('BACKEND_FAILURE', `attachment ${a.name} changed while being read`);
    binaryData[key] = data;
  }
  return { data: at.list.length ? { [ATTACHMENTS_INDEX]: at.index } : {}, binaryData };
}

/** What a pod's inbox starts with (in the ConfigMap created with the Job); over the cap: refused. */
export async function initialAttachments(
  src: AttachmentSource | undefined,
  runId: string,
): Promise<{ data: Record<string, string>; binaryData: Record<string, string> }> {
  if (!src) return { data: {}, binaryData: {} };
  const at = await attachmentIndex(src, runId);
  if (at.total > MAX_POD_ATTACHMENT_BYTES)
    throw new NexusError('USAGE', overCapMessage(runId, at.total), {
      run: runId,
      total: at.total,
      limit: MAX_POD_ATTACHMENT_BYTES,
    });
  return attachmentEntries(src, runId, at);
}

/** Makes the inbox's attachment entries exactly these (messages and approvals left alone). */
export function syncAttachmentEntries(
  kc: KubeConfig,
  namespace: string,
  name: string,
  entries: { data: Record<string, string>; binaryData: Record<string, string> },
): Promise<void> {
  return updateInboxContent(kc, namespace, name, (cur) => {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(cur.data)) if (k !== ATTACHMENTS_INDEX) data[k] = v;
    Object.assign(data, entries.data);
    const binaryData: Record<string, string> = {};
    for (const [k, v] of Object.entries(cur.binaryData))
      if (!k.startsWith(ATTACHMENT_PREFIX)) binaryData[k] = v;
    Object.assign(binaryData, entries.binaryData);
    const same = sameEntries(cur.data, data) && sameEntries(cur.binaryData, binaryData);
    return same ? undefined : { data, binaryData };
  });
}
