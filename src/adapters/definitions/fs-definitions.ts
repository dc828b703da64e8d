/**
 * Finds definitions on disk: `.nexus/{agents,skills,assignments}/*.md` in the workspace, then the
 * same folders in the user config dir. The workspace wins on a name clash. A reference that looks
 * like a path (has a slash or ends in `.md`) is read from that path.
 */
import { readdir, readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { DefinitionSummary } from '../../core/api.ts';
import type {
  AgentDefinition,
  AssignmentDefinition,
  DefinitionKind,
  SkillDefinition,
} from '../../core/domain/definitions.ts';
import { parseAgent, parseAssignment, parseSkill } from '../../core/definitions/parse.ts';
import { NexusError } from '../../core/errors.ts';

const FOLDER: Record<DefinitionKind, string> = {
  agent: 'agents',
  skill: 'skills',
  assignment: 'assignments',
};

type Parsed<K extends DefinitionKind> = K extends 'agent'
  ? AgentDefinition
  : K extends 'skill'
    ? SkillDefinition
    : AssignmentDefinition;

export class FsDefinitions {
  private readonly roots: Array<{ scope: 'workspace' | 'user'; dir: string }>;
  private readonly workspace: string;

  constructor(opts: { workspace: string; userConfigDir: string }) {
    this.workspace = opts.workspace;
    this.roots = [
      { scope: 'workspace', dir: join(opts.workspace, '.nexus') },
      { scope: 'user', dir: opts.userConfigDir },
    ];
  }

  async list(kind: DefinitionKind): Promise<DefinitionSummary[]> {
    const seen = new Map<string, DefinitionSummary>();
    for (const root of this.roots) {
      const dir = join(root.dir, FOLDER[kind]);
      let files: string[];
      try {
        files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      for (const f of files) {
        const path = join(dir, f);
        const def = await this.parse(kind, path);
        if (!seen.has(def.name)) seen.set(def.name, summarize(kind, def, root.scope));
      }
    }
    return [...seen.values()];
  }

  async get<K extends DefinitionKind>(kind: K, ref: string): Promise<Parsed<K>> {
    if (looksLikePath(ref)) {
      const path = isAbsolute(ref) ? ref : resolve(this.workspace, ref);
      return this.parse(kind, path);
    }
    for (const root of this.roots) {
      const path = join(root.dir, FOLDER[kind], `${ref}.md`);
      const text = await readIfExists(path);
      if (text !== undefined) return parseAs(kind, text, path);
    }
    // The file name may differ from the declared name: fall back to a scan.
    for (const summary of await this.list(kind)) {
      if (summary.name === ref) return this.parse(kind, summary.path);
    }
    const where = this.roots.map((r) => join(r.dir, FOLDER[kind])).join(' or ');
    throw new NexusError('DEFINITION_NOT_FOUND', `no ${kind} named '${ref}' in ${where}`, {
      kind,
      name: ref,
    });
  }

  private async parse<K extends DefinitionKind>(kind: K, path: string): Promise<Parsed<K>> {
    const text = await readIfExists(path);
    if (text === undefined) {
      throw new NexusError('DEFINITION_NOT_FOUND', `${kind} file ${path} does not exist`, {
        kind,
        file: path,
      });
    }
    return parseAs(kind, text, path);
  }
}

function parseAs<K extends DefinitionKind>(kind: K, text: string, path: string): Parsed<K> {
  const parsed =
    kind === 'agent'
      ? parseAgent(text, path)
      : kind === 'skill'
        ? parseSkill(text, path)
        : parseAssignment(text, path);
  return parsed as Parsed<K>;
}

function summarize(
  kind: DefinitionKind,
  def: AgentDefinition | SkillDefinition | AssignmentDefinition,
  scope: 'workspace' | 'user',
): DefinitionSummary {
  let detail = '';
  if (kind === 'agent') {
    const a = def as AgentDefinition;
    detail = a.model ? `${a.backend} · ${a.model}` : a.backend;
  } else if (kind === 'assignment') {
    const n = (def as AssignmentDefinition).tasks.length;
    detail = `${n} task${n === 1 ? '' : 's'}`;
  } else {
    detail = (def as SkillDefinition).tags.join(', ');
  }
  return { name: def.name, path: def.path, description: def.description, scope, detail };
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || ref.toLowerCase().endsWith('.md');
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}
