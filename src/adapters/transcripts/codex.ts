/** `codex exec --json` events, as readable entries. */
import type { TranscriptEntry } from '../../core/domain/transcript.ts';
import { num, obj, str } from '../backends/common.ts';
import { cut, summarizeResult, toolInput, usageText, type TranscriptParser } from './summary.ts';

export function codexParser(): TranscriptParser {
  return {
    line(ev) {
      switch (str(ev.type)) {
        case 'thread.started':
          return [{ kind: 'status', text: `codex thread ${str(ev.thread_id) ?? '?'}` }];
        case 'item.started': {
          const item = obj(ev.item);
          // A command is shown when it starts (a long one is visibly running), its output later.
          return item.type === 'command_execution'
            ? [{ kind: 'tool', name: 'shell', input: toolInput(str(item.command) ?? '') }]
            : [];
        }
        case 'item.completed':
          return itemEntries(obj(ev.item));
        case 'turn.completed': {
          const u = obj(ev.usage);
          return [
            {
              kind: 'status',
              text: `turn finished · ${usageText(num(u.input_tokens), num(u.output_tokens))}`,
            },
          ];
        }
        case 'turn.failed':
          return [{ kind: 'error', text: cut(str(obj(ev.error).message) ?? 'turn failed') }];
        case 'error':
          return [{ kind: 'error', text: cut(str(ev.message) ?? 'error') }];
        default:
          return [];
      }
    },
    flush: () => [],
  };
}

function itemEntries(item: Record<string, unknown>): TranscriptEntry[] {
  switch (item.type) {
    case 'agent_message':
      return typeof item.text === 'string' && item.text.trim()
        ? [{ kind: 'message', role: 'assistant', text: cut(item.text) }]
        : [];
    case 'command_execution': {
      const exit = item.exit_code;
      const failed = typeof exit === 'number' && exit !== 0;
      const output = summarizeResult(str(item.aggregated_output) ?? '');
      const text = failed ? `exit ${exit}${output ? `\n${output}` : ''}` : output;
      return [{ kind: 'result', text, error: failed }];
    }
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.map(obj) : [];
      const files = changes.map((c) => `${str(c.kind) ?? 'edit'} ${str(c.path) ?? '?'}`);
      return [{ kind: 'tool', name: 'edit', input: toolInput(files.join(', ')) }];
    }
    case 'mcp_tool_call':
      return [
        {
          kind: 'tool',
          name: `${str(item.server) ?? 'mcp'}.${str(item.tool) ?? 'tool'}`,
          input: toolInput(item.arguments),
        },
      ];
    case 'web_search':
      return [{ kind: 'tool', name: 'web_search', input: toolInput(str(item.query) ?? '') }];
    case 'error':
      // Item-level errors are warnings (unknown model metadata), not failures.
      return typeof item.message === 'string' ? [{ kind: 'status', text: cut(item.message) }] : [];
    default:
      return [];
  }
}
