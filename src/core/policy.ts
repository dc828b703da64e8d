/**
 * Permission policy for shell commands and gated actions. Pure: no I/O. The runner (and the
 * `openai` backend's own tool loop) asks `evaluateShell` before running anything the model
 * requested, so the agent document — not the agent — decides what may happen.
 *
 * Classification is deliberately conservative and lexical: a command is split into simple
 * commands at `;`, `&&`, `||`, `|`, `&`, newlines and command substitutions, and each simple
 * command is checked on its own. It is a guard rail against an agent doing the wrong thing by
 * accident, not a sandbox against a hostile one (a determined `eval` can always hide intent).
 */
import type { GatedAction, Permissions } from './domain/definitions.ts';

/** The verdict on one command. */
export type PolicyDecision =
  | { kind: 'allow' }
  | { kind: 'deny'; reason: string }
  /** Permitted only after a person approves; `actions` lists every gated action found. */
  | { kind: 'ask'; action: GatedAction; actions: GatedAction[]; reason: string };

/** Which permission flag governs each gated action (`shell` has none: it is only ever asked). */
const FLAG_FOR: Record<Exclude<GatedAction, 'shell'>, keyof Permissions> = {
  commit: 'can_commit',
  push: 'can_push',
  merge: 'can_merge',
  delete_files: 'can_delete_files',
  // Opening a pull request publishes work the same way a push does.
  pr: 'can_push',
};

/** Splits a command line into simple commands (approximate shell grammar, quote-aware). */
export function splitCommands(command: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  const flush = (): void => {
    const trimmed = current.trim();
    if (trimmed) parts.push(trimmed);
    current = '';
  };
  for (let i = 0; i < command.length; i++) {
    const ch = command[i] as string;
    const next = command[i + 1];
    if (quote) {
      if (ch === quote) {
        quote = undefined;
        current += ch;
        continue;
      }
      if (ch === '\\' && quote === '"' && next !== undefined) {
        current += ch + next;
        i++;
        continue;
      }
      // Command substitutions inside double quotes still run.
      if (quote === '"' && ((ch === '$' && next === '(') || ch === '`')) {
        flush();
        if (ch === '$') i++;
        continue;
      }
      current += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      current += ch;
    } else if (ch === '\\' && next !== undefined) {
      current += ch + next;
      i++;
    } else if (ch === ';' || ch === '\n' || ch === '|' || ch === '&' || ch === '`') {
      flush();
      if ((ch === '|' || ch === '&') && next === ch) i++;
    } else if (ch === '$' && next === '(') {
      flush();
      i++;
    } else if (ch === '(' || ch === ')' || ch === '{' || ch === '}') {
      // Subshells and groups: their contents are commands of their own.
      flush();
    } else {
      current += ch;
    }
  }
  flush();
  return parts;
}

/** Shell-like word split of one simple command, with quotes removed. */
export function words(simple: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < simple.length; i++) {
    const ch = simple[i] as string;
    if (quote) {
      if (ch === quote) quote = undefined;
      else word += ch;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < simple.length) {
      word += simple[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) out.push(word);
  return out;
}

/** Wrappers that run their arguments as a command (`sudo rm x` is still `rm x`). */
const WRAPPERS = new Set([
  'sudo',
  'command',
  'exec',
  'env',
  'nohup',
  'time',
  'nice',
  'xargs',
  'builtin',
]);

/** The command words with leading `VAR=value` assignments and wrappers removed. */
function effectiveWords(simple: string): string[] {
  const w = words(simple);
  let i = 0;
  while (i < w.length) {
    const word = w[i] as string;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) i++;
    else if (WRAPPERS.has(word)) {
      i++;
      // Skip the wrapper's own options (`sudo -u x`, `nice -n 5`, `xargs -0`).
      while (i < w.length && (w[i] as string).startsWith('-')) i++;
    } else break;
  }
  const rest = w.slice(i);
  // `bash -c "…"` / `sh -c '…'`: the real command is the script argument.
  const head = rest[0] !== undefined ? basename(rest[0]) : '';
  if (['bash', 'sh', 'zsh', 'dash'].includes(head) && rest[1] === '-c' && rest[2] !== undefined) {
    return ['__script__', rest[2]];
  }
  return rest;
}

const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);

/** The git subcommand, skipping global options such as `-C dir` and `-c key=value`. */
function gitSubcommand(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-C' || a === '-c' || a === '--git-dir' || a === '--work-tree') i++;
    else if (a.startsWith('-')) continue;
    else return a;
  }
  return undefined;
}

function actionsOfSimple(simple: string): GatedAction[] {
  const w = effectiveWords(simple);
  if (w[0] === '__script__') return classifyCommand(w[1] ?? '');
  const cmd = w[0] !== undefined ? basename(w[0]) : undefined;
  const args = w.slice(1);
  const found: GatedAction[] = [];
  switch (cmd) {
    case 'git': {
      const sub = gitSubcommand(args);
      if (sub === 'commit') found.push('commit');
      else if (sub === 'push') found.push('push');
      else if (sub === 'merge') found.push('merge');
      else if (sub === 'rm' || sub === 'clean') found.push('delete_files');
      break;
    }
    case 'gh': {
      if (args[0] === 'pr' && args[1] === 'merge') found.push('merge');
      if (args[0] === 'pr' && args[1] === 'create') found.push('pr');
      break;
    }
    case 'rm':
    case 'rmdir':
    case 'unlink':
    case 'shred':
      found.push('delete_files');
      break;
    case 'find':
      if (args.includes('-delete')) found.push('delete_files');
      if (args.some((a, i) => (a === '-exec' || a === '-execdir') && isDeleter(args[i + 1]))) {
        found.push('delete_files');
      }
      break;
    default:
      break;
  }
  return found;
}

const isDeleter = (word: string | undefined): boolean =>
  word !== undefined && ['rm', 'rmdir', 'unlink', 'shred'].includes(basename(word));

/** Every gated action a command would perform (without duplicates, in order of appearance). */
export function classifyCommand(command: string): GatedAction[] {
  const out: GatedAction[] = [];
  for (const simple of splitCommands(command)) {
    for (const action of actionsOfSimple(simple)) if (!out.includes(action)) out.push(action);
  }
  return out;
}

/**
 * Does `text` match a `*`-wildcard pattern (whole string, whitespace-normalized)? A trailing
 * ` *` also matches the bare command, so `rm *` covers `rm` as well as `rm -rf x`.
 */
export function matchesPattern(pattern: string, text: string): boolean {
  const norm = (s: string): string => s.trim().replace(/\s+/g, ' ');
  const p = norm(pattern);
  const t = norm(text);
  const escaped = p
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  if (new RegExp(`^${escaped}$`, 's').test(t)) return true;
  return p.endsWith(' *') && t === p.slice(0, -2);
}

/** Decides whether a shell command may run under `permissions`. */
export function evaluateShell(command: string, permissions: Permissions): PolicyDecision {
  const simples = splitCommands(command);
  const candidates = [command, ...simples];
  for (const pattern of permissions.shell.deny) {
    const hit = candidates.find((c) => matchesPattern(pattern, c));
    if (hit !== undefined) {
      return { kind: 'deny', reason: `'${hit.trim()}' matches the deny pattern '${pattern}'` };
    }
  }
  // Every simple command must be allowed on its own: `npm *` must not admit `npm x && curl y`.
  if (permissions.shell.allow.length > 0) {
    const outside = simples.find((s) => !matchesAny(permissions.shell.allow, s));
    if (outside !== undefined) {
      return {
        kind: 'deny',
        reason: `'${outside}' matches no allowed shell pattern (${permissions.shell.allow.join(', ')})`,
      };
    }
  }
  const actions = classifyCommand(command);
  return decideActions(actions, permissions, command);
}

const matchesAny = (patterns: readonly string[], text: string): boolean =>
  patterns.some((p) => matchesPattern(p, text));

/**
 * Decides a set of gated actions (also used for actions the runner performs itself, such as
 * committing). An action listed in `requires_approval_for` is asked for even when its flag is
 * false: listing it is the user saying "ask me". Otherwise a false flag denies.
 */
export function decideActions(
  actions: readonly GatedAction[],
  permissions: Permissions,
  detail: string,
): PolicyDecision {
  const ask: GatedAction[] = [];
  for (const action of actions) {
    if (permissions.requires_approval_for.includes(action)) {
      ask.push(action);
      continue;
    }
    if (action === 'shell') continue;
    const flag = FLAG_FOR[action];
    if (permissions[flag] !== true) {
      return {
        kind: 'deny',
        reason: `${describe(action)} is not permitted (${flag} is false): ${detail.trim()}`,
      };
    }
  }
  if (permissions.requires_approval_for.includes('shell') && !ask.includes('shell')) {
    ask.push('shell');
  }
  const first = ask[0];
  if (first !== undefined) {
    return {
      kind: 'ask',
      action: first,
      actions: ask,
      reason: `${ask.map(describe).join(', ')} requires approval`,
    };
  }
  return { kind: 'allow' };
}

const DESCRIPTIONS: Record<GatedAction, string> = {
  commit: 'committing',
  push: 'pushing',
  merge: 'merging',
  delete_files: 'deleting files',
  shell: 'running a shell command',
  pr: 'opening a pull request',
};
const describe = (action: GatedAction): string => DESCRIPTIONS[action];
