// Mocha's spec output (it reaches the runner through the workbench's log hook) plus a JSON
// summary written to $NEXUS_TEST_RESULTS, so the runner counts results from a file rather
// than by parsing console text.
import Mocha from 'mocha';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** One test's outcome in the results file. */
export interface TestResult {
  readonly title: string;
  readonly state: 'passed' | 'failed' | 'pending';
  readonly error?: string;
}

/** The results file's shape, read by test/vscode/run-code-server.ts. */
export interface SuiteResults {
  readonly passed: number;
  readonly failed: number;
  readonly pending: number;
  readonly tests: readonly TestResult[];
}

const { EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_TEST_PENDING, EVENT_RUN_END } =
  Mocha.Runner.constants;

/** Spec reporter that also writes SuiteResults as JSON when NEXUS_TEST_RESULTS is set. */
export class NexusReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    const tests: TestResult[] = [];
    runner.on(EVENT_TEST_PASS, (test) => tests.push({ title: test.fullTitle(), state: 'passed' }));
    runner.on(EVENT_TEST_PENDING, (test) =>
      tests.push({ title: test.fullTitle(), state: 'pending' }),
    );
    runner.on(EVENT_TEST_FAIL, (test, error: Error) =>
      tests.push({ title: test.fullTitle(), state: 'failed', error: error.stack ?? error.message }),
    );
    runner.once(EVENT_RUN_END, () => {
      const file = process.env['NEXUS_TEST_RESULTS'];
      if (!file) return;
      const count = (state: TestResult['state']): number =>
        tests.filter((test) => test.state === state).length;
      const results: SuiteResults = {
        passed: count('passed'),
        failed: count('failed'),
        pending: count('pending'),
        tests,
      };
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(results, null, 2));
    });
  }
}
