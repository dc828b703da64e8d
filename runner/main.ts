/** The generic runner: payload in, attempt loop, exit code out. */
export async function runnerMain(_argv: string[]): Promise<number> {
  return 0;
}
