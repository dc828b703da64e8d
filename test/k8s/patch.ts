/**
 * The PATCH bodies the server takes: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and
 * strategic merge patch, which for the stores served here (maps of data) merges like a merge
 * patch. Server-side apply is not served (415), so a client relying on it finds out.
 */
import { ApiError, badRequest } from './resources.ts';

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// A patch that decodes but does not apply is a 422 on a real server, one that does not decode a 400.
const unprocessable = (message: string) => new ApiError(422, 'Invalid', message);

/** RFC 6901 pointer to [parent container, last token]. */
function locate(doc: Json, pointer: string): { parent: Json; token: string } {
  if (pointer === '' || !pointer.startsWith('/'))
    throw badRequest(`invalid JSON pointer: "${pointer}"`);
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  let parent: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    parent = Array.isArray(parent) ? parent[Number(t)] : isObject(parent) ? parent[t] : undefined;
    if (parent === undefined) throw unprocessable(`doc is missing path: "${pointer}"`);
  }
  return { parent, token: tokens[tokens.length - 1] ?? '' };
}

function read(doc: Json, pointer: string): Json {
  const { parent, token } = locate(doc, pointer);
  const v = Array.isArray(parent)
    ? parent[Number(token)]
    : isObject(parent)
      ? parent[token]
      : undefined;
  if (v === undefined) throw unprocessable(`doc is missing path: "${pointer}"`);
  return v;
}

function put(doc: Json, pointer: string, value: Json, insert: boolean): void {
  const { parent, token } = locate(doc, pointer);
  if (Array.isArray(parent)) {
    const i = token === '-' ? parent.length : Number(token);
    if (!Number.isInteger(i) || i < 0 || i > parent.length) {
      throw unprocessable(`index out of bounds: "${pointer}"`);
    }
    if (insert) parent.splice(i, 0, value);
    else parent[i] = value;
  } else if (isObject(parent)) {
    if (!insert && !(token in parent)) throw unprocessable(`doc is missing key: "${pointer}"`);
    parent[token] = value;
  } else throw unprocessable(`doc is missing path: "${pointer}"`);
}

function drop(doc: Json, pointer: string): void {
  read(doc, pointer);
  const { parent, token } = locate(doc, pointer);
  if (Array.isArray(parent)) parent.splice(Number(token), 1);
  else if (isObject(parent)) delete parent[token];
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) {
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  const doc = structuredClone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.path !== 'string')
      throw badRequest('invalid JSON patch operation');
    const path = op.path;
    switch (op.op) {
      case 'add':
        put(doc, path, structuredClone(op.value), true);
        break;
      case 'replace':
        put(doc, path, structuredClone(op.value), false);
        break;
      case 'remove':
        drop(doc, path);
        break;
      case 'test':
        if (JSON.stringify(read(doc, path)) !== JSON.stringify(op.value)) {
          throw unprocessable(`testing value ${path} failed`);
        }
        break;
      case 'copy':
      case 'move': {
        const value = structuredClone(read(doc, String(op.from)));
        if (op.op === 'move') drop(doc, String(op.from));
        put(doc, path, value, true);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}
