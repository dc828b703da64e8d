/** The `nexus` CLI: parses the command line and dispatches to one command module. */
export async function main(argv: string[]): Promise<number> {
  process.stdout.write(`nexus: ${argv.join(' ')}\n`);
  return 0;
}
