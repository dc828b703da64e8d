/**
 * Memory from the editor: approve, amend-and-approve or reject a proposal (inline in the
 * Memory view, from the notification a proposal raises, or the palette); add, edit, forget and
 * search entries. Every decision is the person's: the editor's core records it as `user`.
 */
import * as vscode from 'vscode';
import type { MemoryEntry } from '../../core/domain/memory.ts';
import { shortId } from '../../core/ids.ts';
import { toUserMessage } from '../../core/errors.ts';
import type { MemoryProposed, MemoryState } from '../memory-state.ts';
import { scopeLabel, type MemoryNode } from '../views/memory-tree.ts';
import { registerCommand, type CommandContext } from './command-kit.ts';

export function registerMemoryCommands(
  ctx: CommandContext,
  memory: MemoryState,
): vscode.Disposable[] {
  const done = (what: string, e: MemoryEntry): void => {
    ctx.log.info(`memory ${e.id} ${what} by user`);
    memory.refresh();
  };
  const pick = (arg: unknown, only?: MemoryEntry['status']) =>
    entryArgument(ctx, memory, arg, only);
  return [
    registerCommand('nexus.memory.approve', ctx.log, async (arg) => {
      const id = await pick(arg, 'pending');
      if (id) done('approved', await (await ctx.api()).approveMemory({ id, by: 'user' }));
    }),
    registerCommand('nexus.memory.editApprove', ctx.log, async (arg) => {
      const entry = await resolve(ctx, await pick(arg, 'pending'));
      const text =
        entry && (await askText(entry.text, 'Amend the proposal, then Enter approves it'));
      if (entry && text)
        done(
          'approved (amended)',
          await (await ctx.api()).approveMemory({ id: entry.id, text, by: 'user' }),
        );
    }),
    registerCommand('nexus.memory.reject', ctx.log, async (arg) => {
      const id = await pick(arg, 'pending');
      if (!id) return;
      const reason = await vscode.window.showInputBox({
        prompt: 'Why (optional): kept with the rejected proposal',
      });
      if (reason === undefined) return;
      done(
        'rejected',
        await (await ctx.api()).rejectMemory({ id, reason: reason || undefined, by: 'user' }),
      );
    }),
    registerCommand('nexus.memory.edit', ctx.log, async (arg) => {
      const entry = await resolve(ctx, await pick(arg));
      const text = entry && (await askText(entry.text, 'Edit the memory entry'));
      if (entry && text && text !== entry.text)
        done('edited', await (await ctx.api()).editMemory({ id: entry.id, text, by: 'user' }));
    }),
    registerCommand('nexus.memory.forget', ctx.log, async (arg) => {
      const entry = await resolve(ctx, await pick(arg, 'active'));
      if (!entry) return;
      const answer = await vscode.window.showWarningMessage(
        `Forget "${clip(entry.text)}"? No run will be given it again (it is archived, not deleted).`,
        { modal: true },
        'Forget',
      );
      if (answer === 'Forget')
        done('forgotten', await (await ctx.api()).forgetMemory({ id: entry.id, by: 'user' }));
    }),
    registerCommand('nexus.memory.add', ctx.log, async (arg) => {
      const text =
        typeof arg === 'string' ? arg : await askText('', 'A fact later runs should know');
      if (!text) return;
      const scope = await askScope(ctx);
      if (scope) done('added', await (await ctx.api()).addMemory({ text, scope, by: 'user' }));
    }),
    registerCommand('nexus.memory.search', ctx.log, async () => {
      const query = await vscode.window.showInputBox({
        prompt: 'Search memory as a dispatch would (BM25)',
      });
      if (!query) return;
      const hits = await (await ctx.api()).searchMemory({ query, limit: 30 });
      if (hits.length === 0) {
        void vscode.window.showInformationMessage('Nexus: no memory matches.');
        return;
      }
      const chosen = await vscode.window.showQuickPick(
        hits.map((h) => ({
          label: clip(h.entry.text, 90),
          description: `${h.score.toFixed(3)} · ${scopeLabel(h.entry.scope)}`,
          detail: h.entry.text,
          id: h.entry.id,
        })),
        { placeHolder: 'Best first; pick one to edit it', matchOnDetail: true },
      );
      if (chosen) await vscode.commands.executeCommand('nexus.memory.edit', chosen.id);
    }),
  ];
}

/** A notification per proposal a run makes; its buttons decide, as the view's actions do. */
export function showMemoryToast(ctx: CommandContext, req: MemoryProposed): void {
  if (!req.runId) return; // a person's own proposal needs no toast
  if (!vscode.workspace.getConfiguration('nexus').get<boolean>('memory.notify', true)) return;
  const run = ctx.state.runs.find((r) => r.id === req.runId);
  const who = run ? `${run.title} (${shortId(req.runId)})` : `run ${shortId(req.runId)}`;
  void vscode.window
    .showInformationMessage(
      `Nexus: ${who} proposes to remember: "${clip(req.text, 160)}"`,
      'Approve',
      'Edit',
      'Reject',
    )
    .then(async (choice) => {
      if (choice === undefined) return;
      const command = {
        Approve: 'nexus.memory.approve',
        Edit: 'nexus.memory.editApprove',
        Reject: 'nexus.memory.reject',
      }[choice];
      try {
        await vscode.commands.executeCommand(command, req.entryId);
      } catch (err) {
        void vscode.window.showWarningMessage(`Nexus: ${toUserMessage(err)}`);
      }
    });
}

async function entryArgument(
  ctx: CommandContext,
  memory: MemoryState,
  arg: unknown,
  only?: MemoryEntry['status'],
): Promise<string | undefined> {
  if (typeof arg === 'string' && arg) return arg;
  const node = arg as MemoryNode | undefined;
  if (node?.kind === 'memory') return node.entry.id;
  const entries = (await (await ctx.api()).listMemory()).filter((e) => !only || e.status === only);
  if (entries.length === 0) {
    void vscode.window.showInformationMessage(
      only === 'pending' ? 'Nexus: no memory proposals are waiting.' : 'Nexus: no memory entries.',
    );
    return undefined;
  }
  memory.refresh();
  const chosen = await vscode.window.showQuickPick(
    entries.map((e) => ({
      label: clip(e.text, 90),
      description: `${e.status} · ${scopeLabel(e.scope)}`,
      id: e.id,
    })),
    { placeHolder: only === 'pending' ? 'Proposal' : 'Memory entry' },
  );
  return chosen?.id;
}

async function resolve(
  ctx: CommandContext,
  id: string | undefined,
): Promise<MemoryEntry | undefined> {
  if (!id) return undefined;
  const all = await (await ctx.api()).listMemory({ status: ['pending', 'active'] });
  const entry = all.find((e) => e.id === id);
  if (!entry) throw new Error(`memory entry ${id} is gone (decided or forgotten meanwhile)`);
  return entry;
}

function askText(value: string, prompt: string): Thenable<string | undefined> {
  return vscode.window.showInputBox({
    prompt,
    value,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'a memory entry needs text'),
  });
}

async function askScope(ctx: CommandContext): Promise<string | undefined> {
  const agents = await (await ctx.api()).listAgents().catch(() => []);
  const chosen = await vscode.window.showQuickPick(
    [
      { label: 'Project', description: 'this workspace (kept with its state)', scope: 'project' },
      { label: 'Global', description: 'every workspace (your user config dir)', scope: 'global' },
      ...agents.map((a) => ({
        label: `Agent: ${a.name}`,
        description: 'that agent only',
        scope: `agent:${a.name}`,
      })),
    ],
    { placeHolder: 'Who should be given it' },
  );
  return chosen?.scope;
}

const clip = (s: string, n = 80): string => {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
};
