/** The Skills view: each skill (its tags); clicking opens its file to edit; New Skill on top. */
import * as vscode from 'vscode';
import type { NexusApi } from '../../core/api.ts';
import { DefinitionListProvider, type DefinitionNode } from './definition-list.ts';

export type SkillNode = DefinitionNode<'skill'>;

export class SkillsTreeProvider extends DefinitionListProvider<'skill'> {
  constructor(api: Promise<NexusApi>) {
    super('skill', async () => (await api).listSkills());
  }

  protected decorate(item: vscode.TreeItem): void {
    item.iconPath = new vscode.ThemeIcon('mortar-board');
  }
}
