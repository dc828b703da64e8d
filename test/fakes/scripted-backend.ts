/**
 * A scripted backend for loop tests and the orchestration benchmark: instead of a model, each
 * attempt runs the shell commands listed for it in the JSON file named by NEXUS_SCRIPT_FILE
 * (`{"attempts": [["cmd", …], …]}`), in the run's workspace with the run's environment — so
 * `nexus task …` goes through the real CLI exactly as an agent's would. Every prompt it
 * receives is appended to the transcript, so tests can read the nudges.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import type { AttemptInput, AttemptResult, Backend } from '../../src/core/ports.ts';

interface Script {
  attempts: string[][];
}

function runShell(
  command: string,
  input: AttemptInput,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', command], {
      cwd: input.cwd,
      env: input.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const onAbort = (): void => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    };
    input.signal.addEventListener('abort', onAbort, { once: true });
    child.on('close', (code) => {
      input.signal.removeEventListener('abort', onAbort);
      resolve({ code, output });
    });
  });
}

export function createBackend(): Backend {
  return {
    name: 'claude',
    async runAttempt(input: AttemptInput): Promise<AttemptResult> {
      const script = JSON.parse(readFileSync(input.env.NEXUS_SCRIPT_FILE ?? '', 'utf8')) as Script;
      appendFileSync(
        input.transcriptPath,
        `${JSON.stringify({ type: 'prompt', attempt: input.attempt, session: input.sessionId ?? null, prompt: input.prompt })}\n`,
      );
      const steps = script.attempts[input.attempt - 1] ?? [];
      for (const command of steps) {
        if (input.signal.aborted) break;
        // `@approval <action> <detail>`: ask for a gated action as a tool loop would.
        const gated = /^@approval (\S+) (.+)$/.exec(command);
        if (gated) {
          const decision = await input.approvals.request(
            gated[1] as Parameters<AttemptInput['approvals']['request']>[0],
            gated[2] ?? '',
            input.signal,
          );
          appendFileSync(
            input.transcriptPath,
            `${JSON.stringify({ type: 'approval', action: gated[1], ...decision })}\n`,
          );
          continue;
        }
        input.onEvent({ kind: 'tool', text: command });
        const r = await runShell(command, input);
        appendFileSync(
          input.transcriptPath,
          `${JSON.stringify({ type: 'tool', command, code: r.code, output: r.output })}\n`,
        );
        input.onEvent({ kind: 'tool_result', text: r.output.trim() });
      }
      if (input.signal.aborted) {
        return {
          ok: false,
          sessionId: input.sessionId,
          usage: undefined,
          finalText: undefined,
          failure: { kind: 'cancelled', message: 'cancelled' },
        };
      }
      return {
        ok: true,
        sessionId: input.sessionId ?? `scripted-${input.runId}`,
        usage: { input_tokens: input.prompt.length, output_tokens: 10, cache_read_tokens: 0 },
        finalText: 'done',
        failure: undefined,
      };
    },
  };
}
