// The board webview (browser code). Talks to its host only through validated messages.
export {};
