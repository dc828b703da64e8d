/**
 * Reading a run's pod log: the runner container's lines, followed from a cursor (a dropped
 * stream resumes from the last line's time; lines already read at that second are skipped),
 * each verified — text for `runner/runner.log`, a forged report recorded as refused, a signed
 * report applied once, in order.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { RunnerReport } from '../../../core/api.ts';
import type { NewEvent } from '../../../core/domain/events.ts';
import { toUserMessage } from '../../../core/errors.ts';
import { RunnerReportSchema } from '../../../protocol/bridge-methods.ts';
import { kubernetesClient } from './kubeconfig.ts';
import { CONTAINERS } from './manifests.ts';
import { followPodLog } from './pod-log.ts';
import type { PodText } from './pod-text.ts';
import { parseReportLine } from './report-line.ts';

const RUNNER_CONTAINER = CONTAINERS.runner;

/** What the reader keeps per run (part of the runtime's bookkeeping). */
export interface LogTarget {
  runId: string;
  namespace: string;
  job: string;
  kc: KubeConfig;
  /** The run's report key: only lines signed with it are reports. */
  key: Buffer;
  pod?: string;
  /** Time of the last log line read, and the lines read at that second (a resume repeats them). */
  cursor?: string;
  seenAtCursor: Set<string>;
  following?: AbortController | undefined;
  /** The pod's lines that are not reports (`runner/runner.log`). */
  text: PodText;
  ended: boolean;
  terminated?: { exitCode: number | null; reason: string | undefined };
  /** Approvals the pod asked for (their decisions go into its inbox). */
  awaiting: Set<string>;
  /** Reports being applied, one after another. */
  applying: Promise<void>;
}

export interface LogReaderDeps {
  /** Applies reports (core's `report`: once by `op`). */
  applyReports(runId: string, reports: RunnerReport[]): Promise<void>;
  record(runId: string, events: NewEvent[]): Promise<void>;
  log?: ((line: string) => void) | undefined;
}

/** Follows the runner container's log from the cursor until it ends (resuming when dropped). */
export function followLog(t: LogTarget, d: LogReaderDeps): void {
  const pod = t.pod;
  if (!pod || t.following) return;
  const stop = new AbortController();
  t.following = stop;
  void (async () => {
    let backoff = 250;
    while (!stop.signal.aborted && !t.ended) {
      let result: { status: number; body?: string };
      try {
        result = await followPodLog(t.kc, {
          namespace: t.namespace,
          pod,
          container: RUNNER_CONTAINER,
          follow: true,
          sinceTime: t.cursor,
          signal: stop.signal,
          onLine: (time, text) => takeLine(t, d, time, text),
        });
      } catch (err) {
        d.log?.(`run ${t.runId}: pod log: ${toUserMessage(err)}; retrying`);
        result = { status: 0 };
      }
      if (stop.signal.aborted) break;
      if (result.status === 200 && t.terminated) break; // the container ended: all read
      if (result.status === 404) break; // the pod is gone
      // Dropped, or the container not started yet (400): resume from the cursor.
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 5000);
      if (result.status === 200) backoff = 250;
    }
    if (t.following === stop) t.following = undefined;
  })();
}

/** Reads a finished pod's whole log (once core was away), then waits for its reports to apply. */
export async function readFinishedLog(t: LogTarget, d: LogReaderDeps): Promise<void> {
  if (!t.pod) {
    const k8s = await kubernetesClient();
    const pods = await t.kc
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedPod({ namespace: t.namespace, labelSelector: `job-name=${t.job}` })
      .catch(() => undefined);
    t.pod = pods?.items[0]?.metadata?.name;
  }
  if (!t.pod) return;
  await followPodLog(t.kc, {
    namespace: t.namespace,
    pod: t.pod,
    container: RUNNER_CONTAINER,
    follow: false,
    signal: new AbortController().signal,
    onLine: (time, text) => takeLine(t, d, time, text),
  }).catch(() => undefined);
  await t.applying;
}

/** One log line: text for `runner.log`, a forged report (recorded), or a report applied once. */
function takeLine(t: LogTarget, d: LogReaderDeps, time: string | undefined, text: string): void {
  if (time) {
    if (t.cursor && time < t.cursor) return;
    const seenKey = `${time} ${text}`;
    if (time === t.cursor && t.seenAtCursor.has(seenKey)) return;
    if (time !== t.cursor) t.seenAtCursor.clear();
    t.cursor = time;
    t.seenAtCursor.add(seenKey);
  }
  const parsed = parseReportLine(t.key, text);
  if (parsed.kind === 'text') return t.text.add(time, text);
  if (parsed.kind === 'forged') {
    void d
      .record(t.runId, [
        {
          type: 'nexus.security.refused',
          data: { principal: 'agent', method: `pod report line (${parsed.reason})` },
        },
      ])
      .catch(() => undefined);
    return;
  }
  const report = RunnerReportSchema.safeParse(parsed.json);
  if (!report.success) {
    d.log?.(`run ${t.runId}: a signed report is malformed; ignored`);
    return;
  }
  const r = report.data as RunnerReport;
  if (r.type === 'approval.requested') t.awaiting.add(r.approval.id);
  t.applying = t.applying
    .then(() => d.applyReports(t.runId, [r]))
    .catch((err: unknown) => d.log?.(`run ${t.runId}: report ${r.op}: ${toUserMessage(err)}`));
}
