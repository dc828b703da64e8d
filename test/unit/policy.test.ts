import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Permissions } from '../../src/core/domain/definitions.ts';
import {
  classifyCommand,
  decideActions,
  evaluateShell,
  matchesPattern,
  splitCommands,
} from '../../src/core/policy.ts';

const perms = (p: Record<string, unknown> = {}): Permissions => Permissions.parse(p);

void describe('classifyCommand', () => {
  const cases: [string, string[]][] = [
    ['ls -la', []],
    ['git status', []],
    ['git commit -m "x"', ['commit']],
    ['git -C repo commit -am wip', ['commit']],
    ['git -c user.name=a commit --allow-empty -m x', ['commit']],
    ['git push origin main', ['push']],
    ['git merge feature', ['merge']],
    ['gh pr merge 12 --squash', ['merge']],
    ['gh pr create --fill', ['pr']],
    ['gh pr view 12', []],
    ['rm -rf build', ['delete_files']],
    ['/bin/rm file', ['delete_files']],
    ['rmdir empty', ['delete_files']],
    ['unlink f', ['delete_files']],
    ['git rm --cached x', ['delete_files']],
    ['git clean -fdx', ['delete_files']],
    ['find . -name "*.o" -delete', ['delete_files']],
    ['find . -name x -exec rm {} \\;', ['delete_files']],
    ['sudo rm x', ['delete_files']],
    ['FOO=1 git push', ['push']],
    ['env -i git push', ['push']],
    ['ls | xargs rm', ['delete_files']],
    ['npm test && git add . && git commit -m x && git push', ['commit', 'push']],
    ['echo ok; rm x', ['delete_files']],
    ['true || git merge x', ['merge']],
    ['echo $(rm x)', ['delete_files']],
    ['echo `git push`', ['push']],
    ['(cd sub && git commit -m x)', ['commit']],
    ['bash -c "git push origin"', ['push']],
    ["sh -c 'rm -f a'", ['delete_files']],
    // Words that merely mention an action do not perform it.
    ['echo "git push is disabled"', []],
    ["grep -r 'rm -rf' .", []],
    ['git log --grep=merge', []],
    ['npm run format', []],
  ];
  for (const [command, expected] of cases) {
    void it(`${command} → ${expected.join(',') || 'nothing'}`, () => {
      assert.deepEqual(classifyCommand(command), expected);
    });
  }
});

void describe('splitCommands', () => {
  void it('splits on operators outside quotes only', () => {
    assert.deepEqual(splitCommands('a && b | c; d || e & f\ng'), [
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
      'g',
    ]);
    assert.deepEqual(splitCommands('echo "a && b; c"'), ['echo "a && b; c"']);
    assert.deepEqual(splitCommands("echo 'x | y'"), ["echo 'x | y'"]);
  });
});

void describe('matchesPattern', () => {
  void it('uses * as a wildcard over the whole command', () => {
    assert.equal(matchesPattern('rm *', 'rm -rf /tmp/x'), true);
    assert.equal(matchesPattern('rm *', 'rm'), true);
    assert.equal(matchesPattern('rm *', 'rmdir x'), false);
    assert.equal(matchesPattern('npm *', 'npm run test'), true);
    assert.equal(matchesPattern('git * --force', 'git push origin main --force'), true);
    assert.equal(matchesPattern('git * --force', 'git push origin main'), false);
    assert.equal(matchesPattern('ls', 'ls'), true);
    assert.equal(matchesPattern('ls', 'ls -l'), false);
  });
  void it('treats regex characters in the pattern literally', () => {
    assert.equal(matchesPattern('echo (a)+', 'echo (a)+'), true);
    assert.equal(matchesPattern('echo a.b', 'echo axb'), false);
  });
  void it('normalizes whitespace', () => {
    assert.equal(matchesPattern('npm   test', '  npm test  '), true);
  });
});

void describe('evaluateShell', () => {
  void it('allows an ordinary command with default permissions', () => {
    assert.deepEqual(evaluateShell('npm test', perms()), { kind: 'allow' });
  });

  void it('denies gated actions whose flag is false, naming the flag', () => {
    const d = evaluateShell('git commit -m x', perms());
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.reason : '', /can_commit/);
    assert.equal(evaluateShell('rm -rf build', perms()).kind, 'deny');
    assert.equal(evaluateShell('gh pr create --fill', perms()).kind, 'deny');
    assert.equal(evaluateShell('gh pr merge 3', perms()).kind, 'deny');
  });

  void it('allows gated actions whose flag is true', () => {
    const p = perms({ can_commit: true, can_push: true, can_merge: true, can_delete_files: true });
    for (const c of ['git commit -m x', 'git push', 'git merge x', 'rm a', 'gh pr create']) {
      assert.deepEqual(evaluateShell(c, p), { kind: 'allow' }, c);
    }
  });

  void it('deny patterns win over allow patterns and over flags', () => {
    const p = perms({
      can_delete_files: true,
      shell: { allow: ['rm *', 'ls *'], deny: ['rm *'] },
    });
    const d = evaluateShell('rm -rf x', p);
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.reason : '', /deny pattern 'rm \*'/);
    assert.deepEqual(evaluateShell('ls -l', p), { kind: 'allow' });
  });

  void it('a deny pattern catches a denied command chained after an allowed one', () => {
    const p = perms({ can_delete_files: true, shell: { allow: [], deny: ['rm *'] } });
    assert.equal(evaluateShell('echo hi && rm -rf x', p).kind, 'deny');
    assert.equal(evaluateShell('echo hi && rmdir x', p).kind, 'allow');
  });

  void it('a non-empty allow list admits only matching commands (each part of a chain)', () => {
    const p = perms({ shell: { allow: ['npm *', 'ls'], deny: [] } });
    assert.deepEqual(evaluateShell('npm test', p), { kind: 'allow' });
    assert.deepEqual(evaluateShell('ls', p), { kind: 'allow' });
    assert.deepEqual(evaluateShell('npm test && ls', p), { kind: 'allow' });
    const d = evaluateShell('npm test && curl x', p);
    assert.equal(d.kind, 'deny');
    assert.match(d.kind === 'deny' ? d.reason : '', /'curl x' matches no allowed shell pattern/);
  });

  void it('asks for actions in requires_approval_for', () => {
    const p = perms({ can_push: true, requires_approval_for: ['push'] });
    const d = evaluateShell('git push origin main', p);
    assert.equal(d.kind, 'ask');
    assert.equal(d.kind === 'ask' ? d.action : undefined, 'push');
  });

  void it('asks (not denies) when the action is listed for approval even if its flag is false', () => {
    const d = evaluateShell('git commit -m x', perms({ requires_approval_for: ['commit'] }));
    assert.equal(d.kind, 'ask');
  });

  void it('still denies an unlisted action in the same command as an asked one', () => {
    const d = evaluateShell(
      'git commit -m x && git push',
      perms({ requires_approval_for: ['commit'] }),
    );
    assert.equal(d.kind, 'deny');
  });

  void it('lists every asked action', () => {
    const d = evaluateShell(
      'git commit -m x && git push',
      perms({ requires_approval_for: ['commit', 'push'] }),
    );
    assert.deepEqual(d.kind === 'ask' ? d.actions : [], ['commit', 'push']);
  });

  void it('requires_approval_for shell asks for every command, after deny patterns', () => {
    const p = perms({ requires_approval_for: ['shell'], shell: { allow: [], deny: ['curl *'] } });
    const d = evaluateShell('ls', p);
    assert.equal(d.kind, 'ask');
    assert.equal(d.kind === 'ask' ? d.action : undefined, 'shell');
    assert.equal(evaluateShell('curl http://x', p).kind, 'deny');
  });
});

void describe('decideActions', () => {
  void it('decides runner-performed actions with the same rules', () => {
    assert.equal(decideActions(['commit'], perms(), 'commit').kind, 'deny');
    assert.deepEqual(decideActions(['commit'], perms({ can_commit: true }), 'c'), {
      kind: 'allow',
    });
    assert.equal(
      decideActions(['merge'], perms({ requires_approval_for: ['merge'] }), 'm').kind,
      'ask',
    );
    assert.deepEqual(decideActions([], perms(), ''), { kind: 'allow' });
  });
});
