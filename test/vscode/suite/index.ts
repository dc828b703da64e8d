// Mocha entry for the extension-host suite (the one @vscode/test-electron runs on a desktop).
export async function run(): Promise<void> {}
