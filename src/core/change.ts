/**
 * A run's change, core's side: the runner reports the patch in numbered pieces (`change.chunk`)
 * and then its summary (`change`). Pieces are kept as files beside the run until the summary
 * arrives; then the patch is put together, checked against the summary's sha256 and written
 * atomically as `change.patch` before the summary lands on the manifest. Every step is
 * idempotent, so a replayed report (a lost acknowledgement, a pod log read twice) changes
 * nothing. Reports come from the runner principal only (the bridge's scopes; a pod's signed
 * lines): an agent cannot write a run's change.
 */
import type { ChangeView, RunnerReport } from './api.ts';
import type { RunChange } from './domain/change.ts';
import type { NewEvent } from './domain/events.ts';
import type { RunManifest } from './domain/run.ts';
import type { RunStore } from './ports.ts';

export const PATCH_FILE = 'change.patch';
const partFile = (sha256: string, index: number): string =>
  `change.part.${sha256.slice(0, 16)}.${index}`;

type ChangeReport = Extract<RunnerReport, { type: 'change' }>;

/** Files a run's change needs beside its manifest (the run store in practice). */
export type ChangeFiles = Pick<RunStore, 'writeRunFile' | 'readRunFile' | 'removeRunFile'>;

/**
 * Before the reports are applied: keeps each new piece, and for a new summary assembles and
 * writes `change.patch`. Returns, per summary op, whether its patch arrived whole.
 */
export async function stageChange(
  files: ChangeFiles,
  runId: string,
  appliedOp: number,
  reports: readonly RunnerReport[],
): Promise<Map<number, boolean>> {
  const whole = new Map<number, boolean>();
  for (const r of reports) {
    if (r.op <= appliedOp) continue;
    if (r.type === 'change.chunk')
      await files.writeRunFile(runId, partFile(r.sha256, r.index), Buffer.from(r.data, 'base64'));
    else if (r.type === 'change') {
      const ok = await assemble(files, runId, r);
      // An earlier end's patch must not stand beside this summary.
      if (!ok) await files.removeRunFile(runId, PATCH_FILE);
      whole.set(r.op, ok);
    }
  }
  return whole;
}

async function assemble(files: ChangeFiles, runId: string, r: ChangeReport): Promise<boolean> {
  const sha = r.change.sha256;
  if (r.chunks === 0 || !sha) {
    await files.writeRunFile(runId, PATCH_FILE, Buffer.alloc(0));
    return true;
  }
  const parts: Buffer[] = [];
  for (let i = 0; i < r.chunks; i++) {
    const part = await files.readRunFile(runId, partFile(sha, i));
    if (!part) return false;
    parts.push(part);
  }
  const patch = Buffer.concat(parts);
  // node:crypto only when a patch is checked: loading it costs every `nexus task set` (which
  // imports this file through the runner's reports) about a fifth of Node's start-up.
  const { createHash } = process.getBuiltinModule('node:crypto');
  if (createHash('sha256').update(patch).digest('hex') !== sha) return false;
  await files.writeRunFile(runId, PATCH_FILE, patch);
  return true;
}

/** After the summary is on the manifest: the pieces are no longer needed. */
export async function dropChangeParts(
  files: ChangeFiles,
  runId: string,
  reports: readonly RunnerReport[],
): Promise<void> {
  for (const r of reports)
    if (r.type === 'change' && r.change.sha256)
      for (let i = 0; i < r.chunks; i++)
        await files.removeRunFile(runId, partFile(r.change.sha256, i));
}

/** Applies a `change` summary (a later one replaces an earlier: a resumed run ends again). */
export function applyChangeReport(m: RunManifest, r: ChangeReport, whole: boolean): NewEvent[] {
  const change: RunChange = whole ? r.change : { ...r.change, truncated: true };
  if (!whole) delete change.sha256;
  m.change = change;
  return [
    {
      type: 'nexus.run.change',
      data: {
        base: change.base,
        files: change.files.length,
        bytes: change.bytes,
        truncated: change.truncated,
        ...(change.branch ? { branch: change.branch } : {}),
        ...(change.pushed !== undefined ? { pushed: change.pushed } : {}),
        ...(whole ? {} : { incomplete: true }),
      },
    },
  ];
}

/** What `runs.change` returns: the summary and, when there is one, the patch. */
export async function changeView(files: ChangeFiles, m: RunManifest): Promise<ChangeView> {
  const view: ChangeView = { run: m.id, change: m.change ?? null, workspace: m.workspace.cwd };
  if (m.change) {
    const patch = await files.readRunFile(m.id, PATCH_FILE);
    if (patch) view.patch_base64 = patch.toString('base64');
  }
  return view;
}
