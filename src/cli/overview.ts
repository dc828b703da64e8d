/**
 * `nexus`, `nexus --help` and `nexus --version`: answered by the executable itself (bin.ts) before
 * the CLI loads, so the most common first call costs about what Node's own start-up does. No
 * imports but the exit codes: this module is part of the entry file.
 */
import { ExitCode } from '../core/errors.ts';

const OVERVIEW = `nexus — run coding agents against a checklist until every task is verified

usage: nexus <command> [options]   (every command takes --help; read commands take --json)

definitions
  list agents|assignments|skills|runs   list what is defined, or the runs
  show agent|assignment|skill <name>    print one definition
runs
  init --agent A [--assignment B] [msg] create a run (state: initialized)
  run --agent A [--assignment B] [msg]  run until every task is verified (--bg: in the background)
  run --resume <run> [msg]              continue a run in the same backend session
  run status|brief|audit <run>          a run's state, the brief its agent gets, its event log
  run diff|apply <run>                  the run's change as a patch · applied to this repository
  run archive|unarchive|pin|set-name|note|reset|delete <run> …   keep runs tidy
  run queue-message <run> <text>        a message for the agent's next attempt
  run queued-messages|remove-queued-message <run> …   see or withdraw waiting messages
attachments (files handed to a run: in its workspace's .nexus-attachments/)
  attachment add|list|get|remove <run> …
tasks (inside a run, <run> may be omitted: NEXUS_RUN_ID is used)
  task list|show|set|append-notes|add <run> …
background runs and the service
  serve [--port N] [--max-concurrent N] core as a service on loopback (the CLI then connects to it)
  ps [--all] [--kind K] · discover      running runs · detached runs
  attach <run> · logs <run> [--follow]  live progress (Ctrl-C detaches) · backend output
  cancel <run>                          SIGINT to the agent, SIGKILL after a grace period
  board                                 a signed-in link to the board nexus serve serves
  board sync [status] · --resync        board projections (Plane): lag, backlog, last error; rebuild
approvals
  approvals list|approve|deny [<id>]    decide gated actions (commit, push, merge, …)
memory (an agent only proposes; a person decides)
  memory list|search|add|edit|forget    what runs are given at dispatch (search shows scores)
  memory propose|approve|reject         proposals: pending until a person approves
environment
  status                                workspace, state, definitions, runs

global options: --workspace DIR  --state-dir DIR  --json  --help
exit codes: 0 ok · 1 not verified (attempts exhausted, or a check failed) · 2 a task blocked ·
            3 bad input/config/connection (or a Node older than 22.3) · 4 backend or runtime failure ·
            130 cancelled`;

/** The text and exit code for a bare `nexus`, its help or version; undefined for a command. */
export function quickAnswer(argv: readonly string[]): { text: string; code: number } | undefined {
  const first = argv[0];
  if (first === undefined || first === '--help' || first === '-h' || first === 'help')
    return { text: OVERVIEW, code: first === undefined ? ExitCode.badInput : ExitCode.ok };
  if (first === '--version' || first === '-v') return { text: '0.1.0', code: ExitCode.ok };
  return undefined;
}
