/** Starting points for New Agent / New Assignment: valid definitions a person edits. */

export function agentTemplate(name: string): string {
  return `---
description: What ${name} does, in one line.
backend: claude
# model: claude-sonnet-4-5
tools: [shell, files, git]
skills: []
permissions:
  can_commit: false
  can_push: false
  can_merge: false
  requires_approval_for: [commit]
limits:
  max_attempts: 3
---
You are ${name}. Work through the checklist one task at a time: mark a task \`in_progress\`
when you start, make the change, run its checks yourself, then mark it \`completed\` with a
short note of what you changed.
`;
}

export function assignmentTemplate(name: string): string {
  return `---
description: What ${name} asks for, in one line.
vars: {}
tasks:
  - id: first-task
    title: Describe the first task
    verify:
      - run: test -f README.md
        name: the readme exists
---
The work context for ${name}: what the agent should know before starting.
`;
}

export function skillTemplate(name: string): string {
  return `---
description: What ${name} teaches an agent, in one line.
tags: []
---
How to do this well: the steps, the commands, the pitfalls. Every agent that lists
\`${name}\` under \`skills:\` gets this text in its system prompt.
`;
}

/** File names Nexus accepts for definitions (also what the name field must look like). */
export const DEFINITION_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
