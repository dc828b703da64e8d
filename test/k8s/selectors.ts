/**
 * Label and field selectors as list and watch take them in the query. A selector the server
 * cannot parse is a 400, not an empty list, so a typo in a client shows up in its tests.
 */
import { badRequest } from './resources.ts';
import type { Resource } from './resources.ts';
import type { KubeObject } from './types.ts';
import { labelKeyProblem, labelValueProblem } from './validate.ts';

type Requirement =
  { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

export type Selector = (obj: KubeObject) => boolean;

/** Splits on the commas that separate requirements, not those inside `in (a,b)`. */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function requirement(term: string): Requirement {
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why}`);
  const checkKey = (key: string): string => {
    const problem = labelKeyProblem(key);
    if (problem) throw fail(`key: Invalid value: "${key}": ${problem}`);
    return key;
  };
  const checkValues = (values: string[]): string[] => {
    for (const v of values) {
      const problem = labelValueProblem(v);
      if (problem) throw fail(`values[0][${term}]: Invalid value: "${v}": ${problem}`);
    }
    return values;
  };
  const set = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
  if (set) {
    const values = (set[3] ?? '').split(',').map((v) => v.trim());
    return {
      key: checkKey(set[1] ?? ''),
      op: set[2] === 'in' ? 'in' : 'notin',
      values: checkValues(values),
    };
  }
  const cmp = /^([^=!\s]+)\s*(==|!=|=)\s*(\S*)$/.exec(term);
  if (cmp) {
    const values = checkValues([cmp[3] ?? '']);
    return { key: checkKey(cmp[1] ?? ''), op: cmp[2] === '!=' ? 'notin' : 'in', values };
  }
  if (term.startsWith('!')) return { key: checkKey(term.slice(1).trim()), op: '!exists' };
  if (/^\S+$/.test(term)) return { key: checkKey(term), op: 'exists' };
  throw badRequest(`unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=`);
}

export function labelSelector(selector: string | undefined): Selector {
  const reqs = terms(selector ?? '').map(requirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      switch (r.op) {
        case 'exists':
          return has;
        case '!exists':
          return !has;
        case 'in':
          return has && r.values.includes(labels[r.key] ?? '');
        case 'notin':
          // As in Kubernetes: `notin` and `!=` also match objects without the label.
          return !has || !r.values.includes(labels[r.key] ?? '');
      }
    });
  };
}

/** The fields each resource indexes; any other field is a 400 as on a real server. */
const FIELDS: Partial<Record<Resource, Record<string, (o: KubeObject) => string>>> = {
  pods: {
    'status.phase': (o) => String((o.status as { phase?: string } | undefined)?.phase ?? ''),
    'spec.nodeName': (o) => String((o.spec as { nodeName?: string } | undefined)?.nodeName ?? ''),
    'spec.serviceAccountName': (o) =>
      String((o.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName ?? ''),
  },
  jobs: {
    'status.successful': (o) =>
      String((o.status as { succeeded?: number } | undefined)?.succeeded ?? 0),
  },
  secrets: { type: (o) => (typeof o.type === 'string' ? o.type : '') },
};

export function fieldSelector(resource: Resource, selector: string | undefined): Selector {
  const getters: Record<string, (o: KubeObject) => string> = {
    'metadata.name': (o) => o.metadata.name ?? '',
    'metadata.namespace': (o) => o.metadata.namespace ?? '',
    ...FIELDS[resource],
  };
  const reqs = terms(selector ?? '').map((term) => {
    const m = /^([^=!]+)(==|!=|=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = (m[1] ?? '').trim();
    const get = getters[field];
    if (!get) throw badRequest(`field label not supported: ${field}`);
    return { get, negate: m[2] === '!=', value: (m[3] ?? '').trim() };
  });
  return (obj) => reqs.every((r) => (r.get(obj) === r.value) !== r.negate);
}
