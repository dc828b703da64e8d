/**
 * Server-side validation: what a real API server refuses with 422 Invalid (names, labels, the
 * parts of a pod or Job spec the fake relies on) and 400 BadRequest (bodies it cannot decode,
 * such as non-base64 Secret data). Messages follow the real ones so a client's error text in a
 * test is what a user would see.
 */
import { badRequest, invalid } from './resources.ts';
import type { Resource, StatusCause } from './resources.ts';
import type { Container, Job, KubeObject, Pod, PodSpec, Secret } from './types.ts';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function subdomainProblem(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!SUBDOMAIN.test(name)) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  }
  return undefined;
}

export function dnsLabelProblem(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!DNS_LABEL.test(name)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
  }
  return undefined;
}

/** Label and annotation keys: an optional DNS subdomain prefix, `/`, a name of <= 63. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    const p = subdomainProblem(prefix);
    if (p) return `prefix part ${p}`;
  }
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME_PART.test(name)) {
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
  }
  return undefined;
}

/** Collects the causes of one object; `done()` throws them as one 422. */
class Causes {
  readonly list: StatusCause[] = [];
  invalid(field: string, value: unknown, why: string): void {
    const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
    this.list.push({
      reason: 'FieldValueInvalid',
      field,
      message: `Invalid value: ${shown}: ${why}`,
    });
  }
  required(field: string, why = ''): void {
    const message = why ? `Required value: ${why}` : 'Required value';
    this.list.push({ reason: 'FieldValueRequired', field, message });
  }
  unsupported(field: string, value: string, allowed: string[]): void {
    const supported = allowed.map((a) => `"${a}"`).join(', ');
    this.list.push({
      reason: 'FieldValueNotSupported',
      field,
      message: `Unsupported value: "${value}": supported values: ${supported}`,
    });
  }
  duplicate(field: string, value: string): void {
    this.list.push({
      reason: 'FieldValueDuplicate',
      field,
      message: `Duplicate value: "${value}"`,
    });
  }
  notFound(field: string, value: string): void {
    this.list.push({ reason: 'FieldValueNotFound', field, message: `Not found: "${value}"` });
  }
  labels(field: string, labels: Record<string, string> | undefined, checkValues: boolean): void {
    for (const [k, v] of Object.entries(labels ?? {})) {
      const kp = labelKeyProblem(k);
      if (kp) this.invalid(field, k, kp);
      const vp = checkValues ? labelValueProblem(String(v)) : undefined;
      if (vp) this.invalid(field, v, vp);
    }
  }
}

/** A body that does not decode (wrong JSON types) is a 400 on a real server, not a 422. */
function decodeCheck(ok: boolean, kind: string, what: string): void {
  if (!ok) throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: ${what}`);
}

function podSpec(c: Causes, at: string, spec: PodSpec, kind: string): void {
  decodeCheck(Array.isArray(spec.containers), kind, `${at}.containers must be an array`);
  if (spec.containers.length === 0) c.required(`${at}.containers`);
  const volumes = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const p = dnsLabelProblem(String(v.name));
    if (p) c.invalid(`${at}.volumes[${i}].name`, v.name, p);
    if (volumes.has(v.name)) c.duplicate(`${at}.volumes[${i}].name`, v.name);
    volumes.add(v.name);
  });
  const names = new Set<string>();
  const containers = (list: Container[] | undefined, field: string) =>
    (list ?? []).forEach((ctr, i) => {
      const f = `${at}.${field}[${i}]`;
      decodeCheck(typeof ctr === 'object' && ctr !== null, kind, `${f} must be an object`);
      if (!ctr.name) c.required(`${f}.name`);
      else {
        const p = dnsLabelProblem(ctr.name);
        if (p) c.invalid(`${f}.name`, ctr.name, p);
        if (names.has(ctr.name)) c.duplicate(`${f}.name`, ctr.name);
        names.add(ctr.name);
      }
      if (!ctr.image) c.required(`${f}.image`);
      for (const key of ['command', 'args'] as const) {
        const v = ctr[key];
        decodeCheck(v === undefined || Array.isArray(v), kind, `${f}.${key} must be an array`);
      }
      (ctr.env ?? []).forEach((e, j) => {
        if (!e.name) c.required(`${f}.env[${j}].name`);
        else if (e.name.includes('=') || !/^[\x20-\x7e]+$/.test(e.name)) {
          c.invalid(
            `${f}.env[${j}].name`,
            e.name,
            "a valid environment variable name must consist only of printable ASCII characters other than '='",
          );
        }
      });
      const paths = new Set<string>();
      (ctr.volumeMounts ?? []).forEach((m, j) => {
        if (!volumes.has(m.name)) c.notFound(`${f}.volumeMounts[${j}].name`, m.name);
        if (!m.mountPath) c.required(`${f}.volumeMounts[${j}].mountPath`);
        else if (paths.has(m.mountPath)) {
          c.invalid(`${f}.volumeMounts[${j}].mountPath`, m.mountPath, 'must be unique');
        }
        paths.add(m.mountPath);
      });
    });
  containers(spec.initContainers, 'initContainers');
  containers(spec.containers, 'containers');
  const policies = ['Always', 'OnFailure', 'Never'];
  if (spec.restartPolicy !== undefined && !policies.includes(spec.restartPolicy)) {
    c.unsupported(`${at}.restartPolicy`, spec.restartPolicy, policies);
  }
  if (spec.activeDeadlineSeconds !== undefined && !(spec.activeDeadlineSeconds >= 1)) {
    c.invalid(`${at}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be at least 1');
  }
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && !(grace >= 0)) {
    c.invalid(`${at}.terminationGracePeriodSeconds`, grace, 'must be greater than or equal to 0');
  }
}

function jobSpec(c: Causes, job: Job): void {
  const spec = job.spec;
  decodeCheck(typeof spec?.template?.spec === 'object', 'Job', 'spec.template.spec is required');
  c.labels('spec.template.metadata.labels', spec.template.metadata?.labels, true);
  podSpec(c, 'spec.template.spec', spec.template.spec, 'Job');
  // Defaulting runs before validation: a template without a policy has `Always` by now.
  const policy = spec.template.spec.restartPolicy ?? 'Always';
  if (policy !== 'Never' && policy !== 'OnFailure') {
    c.unsupported('spec.template.spec.restartPolicy', policy, ['OnFailure', 'Never']);
  }
  for (const key of ['backoffLimit', 'completions', 'parallelism', 'ttlSecondsAfterFinished']) {
    const v = spec[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0)) {
      c.invalid(`spec.${key}`, v, 'must be greater than or equal to 0');
    }
  }
  if (spec.activeDeadlineSeconds !== undefined && !(spec.activeDeadlineSeconds >= 1)) {
    c.invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be at least 1');
  }
  if (spec.selector !== undefined && spec.manualSelector !== true) {
    c.invalid('spec.selector', spec.selector, '`selector` not auto-generated');
  }
  const rules = spec.podFailurePolicy?.rules;
  if (rules === undefined) return;
  if (policy !== 'Never') {
    c.invalid(
      'spec.template.spec.restartPolicy',
      policy,
      'only "Never" is supported when podFailurePolicy is specified',
    );
  }
  rules.forEach((rule, i) => {
    const f = `spec.podFailurePolicy.rules[${i}]`;
    const actions = ['FailJob', 'FailIndex', 'Ignore', 'Count'];
    if (!actions.includes(rule.action)) c.unsupported(`${f}.action`, rule.action, actions);
    if (!!rule.onExitCodes === !!rule.onPodConditions) {
      c.invalid(f, '', 'exactly one of onExitCodes and onPodConditions is required');
    }
    const codes = rule.onExitCodes;
    if (codes) {
      if (codes.operator !== 'In' && codes.operator !== 'NotIn') {
        c.unsupported(`${f}.onExitCodes.operator`, String(codes.operator), ['In', 'NotIn']);
      }
      if (!Array.isArray(codes.values) || codes.values.length === 0) {
        c.required(`${f}.onExitCodes.values`);
      } else if (codes.operator === 'In' && codes.values.includes(0)) {
        c.invalid(`${f}.onExitCodes.values`, 0, 'must not be 0 for the In operator');
      }
    }
  });
}

function dataKeys(
  c: Causes,
  field: string,
  data: Record<string, string> | undefined,
  size_ = (v: string): number => Buffer.byteLength(v),
): number {
  let size = 0;
  for (const [k, v] of Object.entries(data ?? {})) {
    if (!CONFIG_KEY.test(k) || k.length > 253) {
      c.invalid(
        `${field}[${k}]`,
        k,
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      );
    }
    size += size_(String(v));
  }
  return size;
}

const MAX_DATA = 1024 * 1024;

/** Throws the 400 or 422 a real server answers for this object, or returns. */
export function validate(resource: Resource, obj: KubeObject): void {
  const c = new Causes();
  const meta = obj.metadata;
  const name = meta.name ?? '';
  if (!name) c.required('metadata.name', 'name or generateName is required');
  else {
    const p = subdomainProblem(name);
    if (p) c.invalid('metadata.name', name, p);
  }
  c.labels('metadata.labels', meta.labels, true);
  c.labels('metadata.annotations', meta.annotations, false);
  (meta.ownerReferences ?? []).forEach((ref, i) => {
    if (!ref.uid) c.required(`metadata.ownerReferences[${i}].uid`, 'uid must not be empty');
    if (!ref.name) c.required(`metadata.ownerReferences[${i}].name`, 'name must not be empty');
  });
  if ((meta.ownerReferences ?? []).filter((r) => r.controller).length > 1) {
    c.invalid(
      'metadata.ownerReferences',
      meta.ownerReferences,
      'Only one reference can have Controller set to true',
    );
  }
  if (resource === 'jobs') {
    // The job controller labels its pods with the Job's name, so it must fit in a label.
    if (name.length > 63) c.invalid('metadata.name', name, 'must be no more than 63 characters');
    jobSpec(c, obj as Job);
  }
  if (resource === 'pods') podSpec(c, 'spec', (obj as Pod).spec, 'Pod');
  if (resource === 'secrets') {
    const s = obj as Secret;
    for (const [k, v] of Object.entries(s.data ?? {})) {
      decodeCheck(
        typeof v === 'string' && BASE64.test(v),
        'Secret',
        `illegal base64 data in data[${k}]`,
      );
    }
    dataKeys(c, 'data', s.data);
    // The limit is on the decoded bytes.
    const size = Object.values(s.data ?? {}).reduce(
      (n, v) => n + Buffer.from(v, 'base64').length,
      0,
    );
    if (size > MAX_DATA)
      c.invalid('data', '<omitted>', `Too long: must have at most ${MAX_DATA} bytes`);
  }
  if (resource === 'configmaps') {
    const size =
      dataKeys(c, 'data', obj.data as Record<string, string> | undefined) +
      // binaryData counts its decoded bytes, as the API server's validation does.
      dataKeys(
        c,
        'binaryData',
        obj.binaryData as Record<string, string> | undefined,
        (v) => Buffer.from(v, 'base64').length,
      );
    if (size > MAX_DATA)
      c.invalid('', '<omitted>', `Too long: must have at most ${MAX_DATA} bytes`);
  }
  if (c.list.length > 0) throw invalid(resource, name, c.list);
}
