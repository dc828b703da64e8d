/**
 * Parsing definition documents: markdown with YAML frontmatter. Errors name the file, the field
 * and the line, so a person can fix them without guessing.
 */
import { LineCounter, parseDocument, isNode } from 'yaml';
import type * as z from 'zod/mini';
import '../domain/messages.ts';
import { definitionError } from '../errors.ts';
import {
  AgentFrontmatter,
  AssignmentFrontmatter,
  SkillFrontmatter,
} from '../domain/definitions.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  SkillDefinition,
} from '../domain/definitions.ts';

interface SplitDocument {
  frontmatter: unknown;
  body: string;
  /** Line (1-based, in the file) of the value at a frontmatter path, if found. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

const FENCE = /^---[ \t]*$/;

export function splitDocument(text: string, file: string): SplitDocument {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (!FENCE.test(lines[0] ?? '')) {
    throw definitionError(file, "missing YAML frontmatter: the file must start with a '---' line", {
      line: 1,
    });
  }
  const end = lines.findIndex((l, i) => i > 0 && FENCE.test(l));
  if (end < 0)
    throw definitionError(file, "frontmatter is not closed: add a '---' line after it", {
      line: 1,
    });
  const yamlText = lines.slice(1, end).join('\n');
  const counter = new LineCounter();
  const doc = parseDocument(yamlText, {
    lineCounter: counter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? counter.linePos(first.pos[0]).line;
    throw definitionError(
      file,
      `malformed YAML frontmatter: ${first.message.split('\n')[0] ?? ''}`,
      { line: line + 1 },
    );
  }
  const frontmatter: unknown = doc.toJS() ?? {};
  const body = lines
    .slice(end + 1)
    .join('\n')
    .trim();
  return {
    frontmatter,
    body,
    lineOf(path) {
      for (let n = path.length; n > 0; n--) {
        const node: unknown = doc.getIn(path.slice(0, n) as unknown[], true);
        if (isNode(node) && node.range) return counter.linePos(node.range[0]).line + 1;
        // A missing key: point at its parent map.
      }
      return undefined;
    },
  };
}

function validate<S extends z.ZodMiniType>(
  schema: S,
  doc: SplitDocument,
  file: string,
): z.infer<S> {
  if (
    typeof doc.frontmatter !== 'object' ||
    doc.frontmatter === null ||
    Array.isArray(doc.frontmatter)
  ) {
    throw definitionError(file, 'frontmatter must be a YAML mapping of fields', { line: 2 });
  }
  const result = schema.safeParse(doc.frontmatter);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (!issue) throw definitionError(file, 'invalid frontmatter');
  let path = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    path = [...issue.path, key];
    message = `unknown field '${key}'`;
  }
  const field = path.map(String).join('.');
  const line = doc.lineOf(path);
  return throwAt(file, message, field, line);
}

function throwAt(file: string, message: string, field: string, line: number | undefined): never {
  throw definitionError(file, message, {
    ...(field ? { field } : {}),
    ...(line !== undefined ? { line } : {}),
  });
}

/** The name a definition is known by: its `name` field, else the file name without `.md`. */
export function definitionName(file: string, declared: string | undefined): string {
  if (declared) return declared;
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.replace(/\.md$/i, '');
}

export function parseAgent(text: string, file: string): AgentDefinition {
  const doc = splitDocument(text, file);
  const fm = validate(AgentFrontmatter, doc, file);
  const { name, ...rest } = fm;
  return { ...rest, name: definitionName(file, name), instructions: doc.body, path: file };
}

export function parseSkill(text: string, file: string): SkillDefinition {
  const doc = splitDocument(text, file);
  const fm = validate(SkillFrontmatter, doc, file);
  return {
    name: definitionName(file, fm.name),
    description: fm.description,
    tags: fm.tags,
    body: doc.body,
    path: file,
  };
}

export function parseAssignment(text: string, file: string): AssignmentDefinition {
  const doc = splitDocument(text, file);
  const fm = validate(AssignmentFrontmatter, doc, file);
  const { name, ...rest } = fm;
  return { ...rest, name: definitionName(file, name), brief: doc.body, path: file };
}
