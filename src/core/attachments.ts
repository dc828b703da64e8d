/**
 * Attachments: files a person hands to a run (`nexus attachment add`), kept beside its manifest
 * (`<state>/runs/<id>/attachments/<name>`, 0600, written atomically) and listed on it. The
 * runner copies them into the workspace's `.nexus-attachments/` before each attempt, where the
 * agent reads them; a run's attachments are shared with the runs of its group (`groupOf`).
 */
import { createHash } from 'node:crypto';
import type { Attachment, RunManifest } from './domain/run.ts';
import { isTerminalRunStatus } from './domain/run.ts';
import { NexusError } from './errors.ts';
import type { RunStore } from './ports.ts';
import {
  MAX_ATTACHMENT_BYTES,
  MAX_ATTACHMENTS,
  MAX_POD_ATTACHMENT_BYTES,
} from './domain/limits.ts';

/** Where the runner puts them in the workspace. */
export const ATTACHMENTS_DIR = '.nexus-attachments';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Where an attachment's bytes are kept (the store adapter writes them atomically, 0600). */
export interface AttachmentFiles {
  write(runId: string, name: string, data: Uint8Array): Promise<void>;
  read(runId: string, name: string): Promise<Uint8Array>;
  remove(runId: string, name: string): Promise<void>;
}

/** An attachment as listed for a run: its own, or shared by another run of its group. */
export interface ListedAttachment extends Attachment {
  /** The run it belongs to. */
  run: string;
}

export interface AttachmentAddRequest {
  run: string;
  name: string;
  /** The file's bytes, base64. */
  data: string;
  by?: string | undefined;
}

/** The group a run shares its attachments with (`--group`, `nexus run set-group`), if any. */
export function groupOf(m: RunManifest): string | undefined {
  return m.group || undefined;
}

export function assertAttachmentName(name: string): void {
  if (NAME.test(name) && name !== '.' && name !== '..') return;
  throw new NexusError(
    'USAGE',
    `attachment name '${name}' is invalid: a plain file name (letters, digits, dot, dash, underscore; no folders; at most 128)`,
    { name },
  );
}

export interface AttachmentDeps {
  store: Pick<RunStore, 'resolveRunId' | 'readRun' | 'mutateRun' | 'listRuns'>;
  files: AttachmentFiles | undefined;
  now(): string;
}

export class RunAttachments {
  private readonly d: AttachmentDeps;

  constructor(deps: AttachmentDeps) {
    this.d = deps;
  }

  private files(): AttachmentFiles {
    if (!this.d.files)
      throw new NexusError('USAGE', 'this core keeps no attachments (a runner inside a pod)');
    return this.d.files;
  }

  async add(req: AttachmentAddRequest): Promise<Attachment> {
    assertAttachmentName(req.name);
    const data = Buffer.from(req.data, 'base64');
    if (data.length > MAX_ATTACHMENT_BYTES) {
      throw new NexusError(
        'USAGE',
        `attachment ${req.name} is ${data.length} bytes: the limit is ${MAX_ATTACHMENT_BYTES} bytes (${MAX_ATTACHMENT_BYTES / 1024 / 1024} MiB)`,
        { name: req.name, size: data.length, limit: MAX_ATTACHMENT_BYTES },
      );
    }
    const id = await this.d.store.resolveRunId(req.run);
    const m = await this.d.store.readRun(id);
    const others = (m.attachments ?? []).filter((a) => a.name !== req.name);
    if (others.length >= MAX_ATTACHMENTS) {
      throw new NexusError(
        'USAGE',
        `run ${id} already has ${MAX_ATTACHMENTS} attachments: remove one first`,
      );
    }
    await this.checkPodCap(m, req.name, data.length);
    // The bytes land first (atomically); the manifest then names them. A crash in between
    // leaves an unlisted file, never a listed one that is missing.
    await this.files().write(id, req.name, data);
    const attachment: Attachment = {
      name: req.name,
      size: data.length,
      sha256: createHash('sha256').update(data).digest('hex'),
      added_at: this.d.now(),
      by: req.by ?? 'user',
    };
    await this.d.store.mutateRun(id, (cur) => {
      cur.attachments = [...(cur.attachments ?? []).filter((a) => a.name !== req.name), attachment];
      return {
        manifest: cur,
        events: [
          {
            type: 'nexus.attachment.added',
            data: { name: req.name, size: data.length, by: attachment.by },
          },
        ],
      };
    });
    return attachment;
  }

  /**
   * A Kubernetes run not ended (queued or live) gets its attachments, its group's included,
   * through its inbox ConfigMap: refused here when adding this one would take any such run of
   * the group past the cap, before anything is written.
   */
  private async checkPodCap(target: RunManifest, name: string, size: number): Promise<void> {
    const group = groupOf(target);
    const runs = group
      ? await this.d.store.listRuns({ archived: 'include', group })
      : [{ id: target.id, runtime: target.runtime, status: target.status }];
    for (const r of runs) {
      if (r.runtime !== 'kubernetes' || isTerminalRunStatus(r.status)) continue;
      const listed = await this.list(r.id);
      // Its own attachment of that name hides the new one from it; otherwise the new one
      // takes the place of whichever of that name it sees now.
      const hidden = r.id !== target.id && listed.some((a) => a.name === name && a.run === r.id);
      const total =
        listed
          .filter((a) => a.name !== name || (hidden && a.run === r.id))
          .reduce((n, a) => n + a.size, 0) + (hidden ? 0 : size);
      if (total > MAX_POD_ATTACHMENT_BYTES) {
        throw new NexusError(
          'USAGE',
          `run ${r.id} runs on Kubernetes: with ${name} its attachments (its own and its group's) would total ${total} bytes, over the ${MAX_POD_ATTACHMENT_BYTES} bytes (${MAX_POD_ATTACHMENT_BYTES / 1024} KiB) its pod's inbox takes; remove one first`,
          { run: r.id, name, total, limit: MAX_POD_ATTACHMENT_BYTES },
        );
      }
    }
  }

  /** The run's attachments, then those of the other runs of its group (its own win on a name). */
  async list(run: string): Promise<ListedAttachment[]> {
    const m = await this.d.store.readRun(await this.d.store.resolveRunId(run));
    const own = (m.attachments ?? []).map((a) => ({ ...a, run: m.id }));
    const group = groupOf(m);
    if (!group) return own;
    const shared: ListedAttachment[] = [];
    // The index knows each run's group: only the group's manifests are read.
    for (const entry of await this.d.store.listRuns({ archived: 'include', group })) {
      if (entry.id === m.id) continue;
      const other = await this.d.store.readRun(entry.id);
      for (const a of other.attachments ?? [])
        if (!own.some((x) => x.name === a.name) && !shared.some((x) => x.name === a.name))
          shared.push({ ...a, run: other.id });
    }
    return [...own, ...shared];
  }

  async get(run: string, name: string): Promise<{ attachment: ListedAttachment; data: string }> {
    assertAttachmentName(name);
    const attachment = (await this.list(run)).find((a) => a.name === name);
    if (!attachment) {
      throw new NexusError('USAGE', `run ${run} has no attachment '${name}'`, { run, name });
    }
    const data = await this.files().read(attachment.run, name);
    return { attachment, data: Buffer.from(data).toString('base64') };
  }

  async remove(run: string, name: string, by = 'user'): Promise<Attachment> {
    assertAttachmentName(name);
    const id = await this.d.store.resolveRunId(run);
    let removed: Attachment | undefined;
    await this.d.store.mutateRun(id, (m) => {
      removed = m.attachments?.find((a) => a.name === name);
      if (!removed)
        throw new NexusError('USAGE', `run ${id} has no attachment '${name}'`, { run: id, name });
      m.attachments = (m.attachments ?? []).filter((a) => a.name !== name);
      return {
        manifest: m,
        events: [{ type: 'nexus.attachment.removed', data: { name, by } }],
      };
    });
    await this.files().remove(id, name);
    return removed as Attachment;
  }
}
