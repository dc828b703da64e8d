/** New Agent / Assignment / Skill: write a template to `.nexus/<kind>/<name>.md` and open it. */
import * as vscode from 'vscode';
import { DEFINITION_NAME, agentTemplate, assignmentTemplate, skillTemplate } from '../templates.ts';
import { registerCommand, type CommandContext } from './command-kit.ts';

export function registerDefinitionCommands(ctx: CommandContext): vscode.Disposable[] {
  return [
    registerCommand('nexus.newAgent', ctx.log, (arg) => create(ctx, 'agents', arg, agentTemplate)),
    registerCommand('nexus.newAssignment', ctx.log, (arg) =>
      create(ctx, 'assignments', arg, assignmentTemplate),
    ),
    registerCommand('nexus.newSkill', ctx.log, (arg) => create(ctx, 'skills', arg, skillTemplate)),
  ];
}

const PLACEHOLDER = {
  agents: 'e.g. docs-writer',
  assignments: 'e.g. add-endpoint',
  skills: 'e.g. database-migrations',
};

async function create(
  ctx: CommandContext,
  folder: 'agents' | 'assignments' | 'skills',
  arg: unknown,
  template: (name: string) => string,
): Promise<vscode.Uri | undefined> {
  if (!ctx.workspace) {
    void vscode.window.showWarningMessage('Nexus: open a folder first.');
    return undefined;
  }
  const dir = vscode.Uri.joinPath(ctx.workspace, '.nexus', folder);
  const kind = folder.slice(0, -1);
  // Tests and scripts pass the name; people type it.
  const name =
    typeof arg === 'string'
      ? arg
      : await vscode.window.showInputBox({
          prompt: `Name of the new ${kind}`,
          placeHolder: PLACEHOLDER[folder],
          validateInput: async (value) => {
            if (!DEFINITION_NAME.test(value)) return 'lowercase letters, digits, - and _';
            return (await exists(vscode.Uri.joinPath(dir, `${value}.md`)))
              ? `${value}.md already exists`
              : undefined;
          },
        });
  if (!name) return undefined;
  if (!DEFINITION_NAME.test(name)) throw new Error(`'${name}' is not a valid ${kind} name`);
  const file = vscode.Uri.joinPath(dir, `${name}.md`);
  if (!(await exists(file))) {
    await vscode.workspace.fs.createDirectory(dir);
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(template(name)));
    ctx.log.info(`created ${file.fsPath}`);
  }
  await vscode.window.showTextDocument(file);
  return file;
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
