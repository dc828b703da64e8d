/**
 * Entry point. Everything is built in compose.ts; this file only hands VS Code the lifecycle.
 * Activation is lazy (views, commands, or a workspace with `.nexus/`), and deactivate waits
 * for core to close so the state lock and the discovery file are released.
 */
import type * as vscode from 'vscode';
import { compose, type Composition, type NexusExtensionApi } from './compose.ts';

let composition: Composition | undefined;

export function activate(context: vscode.ExtensionContext): NexusExtensionApi {
  composition = compose(context);
  return composition.exports;
}

export async function deactivate(): Promise<void> {
  const c = composition;
  composition = undefined;
  await c?.close();
}
