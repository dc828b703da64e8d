/**
 * Whether a configured cluster answers, for `nexus status`: the kubeconfig context and
 * namespace an agent's runs would use, and either reachable (the API server listed Jobs in
 * the namespace, which the launcher Role allows) or the error by name — quickly: one request
 * with a short timeout, over plain HTTP(S) with the kubeconfig's credentials.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { toUserMessage } from '../../../core/errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';

export interface ClusterProbe {
  /** The kubeconfig context (its current one when the agent names none). */
  context: string;
  namespace: string;
  server?: string | undefined;
  reachable: boolean;
  /** Why not: the error's code or HTTP status, and what it says. */
  error?: string | undefined;
}

export async function probeCluster(
  env: NodeJS.ProcessEnv,
  target: { context?: string | undefined; namespace: string },
  timeoutMs = 3000,
): Promise<ClusterProbe> {
  let kc;
  try {
    kc = await loadKubeConfig(env, target.context);
  } catch (err) {
    return {
      context: target.context ?? '(current)',
      namespace: target.namespace,
      reachable: false,
      error: toUserMessage(err),
    };
  }
  const context = kc.getCurrentContext();
  const server = kc.getCurrentCluster()?.server ?? '';
  const base = new URL(server);
  const opts: RequestOptions = {
    protocol: base.protocol,
    hostname: base.hostname,
    port: base.port || (base.protocol === 'https:' ? 443 : 80),
    path: `${base.pathname.replace(/\/$/, '')}/apis/batch/v1/namespaces/${encodeURIComponent(target.namespace)}/jobs?limit=1`,
    method: 'GET',
    headers: { accept: 'application/json' },
    timeout: timeoutMs,
  };
  const out = { context, namespace: target.namespace, server };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    return { ...out, reachable: false, error: `credentials: ${toUserMessage(err)}` };
  }
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c.slice(0, 4096)));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200) return resolve({ ...out, reachable: true });
        let reason = '';
        try {
          const s = JSON.parse(body) as { reason?: string; message?: string };
          reason = [s.reason, s.message].filter(Boolean).join(': ');
        } catch {
          reason = body.slice(0, 200);
        }
        resolve({ ...out, reachable: false, error: `HTTP ${status}${reason ? ` ${reason}` : ''}` });
      });
    });
    req.on('timeout', () => {
      req.destroy(
        Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({
        ...out,
        reachable: false,
        error: err.code ? `${err.code} (${err.message})` : err.message,
      }),
    );
    req.end();
  });
}
