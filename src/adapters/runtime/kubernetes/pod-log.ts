/**
 * Following a container's log over plain HTTP(S), with the kubeconfig's credentials. Not the
 * client library's `Log`: in client-node 2.x a follow silent for 300 s dies with an uncaught
 * error that takes the whole process down, and a runner can be quiet that long mid-attempt.
 * Lines come with their `timestamps=true` time, which is where a dropped stream resumes
 * (`sinceTime`, whole seconds); the caller drops what it has already seen.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { splitTimestamp } from './report-line.ts';

export interface FollowOptions {
  namespace: string;
  pod: string;
  container: string;
  follow: boolean;
  sinceTime?: string | undefined;
  signal: AbortSignal;
  onLine: (time: string | undefined, text: string) => void;
}

/** Resolves when the stream ends, with the HTTP status (200: the server ended it or it dropped). */
export async function followPodLog(
  kc: KubeConfig,
  o: FollowOptions,
): Promise<{ status: number; body?: string }> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const base = new URL(cluster.server);
  const query = new URLSearchParams({
    container: o.container,
    timestamps: 'true',
    ...(o.follow ? { follow: 'true' } : {}),
    ...(o.sinceTime ? { sinceTime: wholeSeconds(o.sinceTime) } : {}),
  });
  const path = `${base.pathname.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/log?${query.toString()}`;
  const opts: RequestOptions = {
    protocol: base.protocol,
    hostname: base.hostname,
    port: base.port || (base.protocol === 'https:' ? 443 : 80),
    path,
    method: 'GET',
    headers: {},
  };
  await kc.applyToHTTPSOptions(opts);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(opts, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c.slice(0, 4096)));
        res.on('end', () => resolve({ status, body }));
        return;
      }
      res.setEncoding('utf8');
      let partial = '';
      res.on('data', (chunk: string) => {
        partial += chunk;
        let nl: number;
        while ((nl = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, nl);
          partial = partial.slice(nl + 1);
          const { time, text } = splitTimestamp(line);
          o.onLine(time, text);
        }
      });
      const done = (): void => {
        // A last line without its newline was cut by the drop: the resume reads it again.
        resolve({ status });
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('socket', (socket) => socket.setKeepAlive(true, 30_000));
    req.on('error', (err) => (o.signal.aborted ? resolve({ status: 0 }) : reject(err)));
    o.signal.addEventListener('abort', () => req.destroy(), { once: true });
    req.end();
  });
}

/** `sinceTime` takes whole seconds: round down, so nothing after the cursor is skipped. */
function wholeSeconds(time: string): string {
  const t = new Date(time);
  t.setUTCMilliseconds(0);
  return t.toISOString().replace('.000Z', 'Z');
}
