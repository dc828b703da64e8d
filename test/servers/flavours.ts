/**
 * Each model backend with the scripted server that speaks its provider's API, and the env
 * that points the backend at it — shared by the contract tests that drive whole runs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAnthropicServer } from './anthropic.ts';
import { startChatServer } from './openai-chat.ts';
import { startResponsesServer } from './openai-responses.ts';
import type { ScriptedServer, Step } from './script.ts';

export interface Flavour {
  backend: 'claude' | 'codex' | 'openai';
  start(steps: Step[]): Promise<ScriptedServer>;
  env(server: ScriptedServer): Record<string, string>;
}

export const FLAVOURS: readonly Flavour[] = [
  {
    backend: 'claude',
    start: startAnthropicServer,
    env: (s) => ({
      ANTHROPIC_BASE_URL: s.url,
      ANTHROPIC_API_KEY: 'test-key',
      CLAUDE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'nexus-claude-')),
      CLAUDE_CODE_MAX_RETRIES: '0',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    }),
  },
  {
    backend: 'codex',
    start: startResponsesServer,
    env: (s) => ({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_API_KEY: 'test-key' }),
  },
  {
    backend: 'openai',
    start: startChatServer,
    env: (s) => ({ OPENAI_BASE_URL: `${s.url}/v1`, OPENAI_API_KEY: 'test-key' }),
  },
];
