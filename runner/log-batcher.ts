/** Batches backend output lines into `log` reports: at most every 250 ms or 50 lines. */
const MAX_LINES = 50;
const MAX_LINE_CHARS = 2000;

export class LogBatcher {
  private readonly send: (attempt: number, lines: string[]) => void;
  private attempt = 0;
  private lines: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(send: (attempt: number, lines: string[]) => void) {
    this.send = send;
  }

  add(attempt: number, line: string): void {
    if (attempt !== this.attempt) this.flush();
    this.attempt = attempt;
    this.lines.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
    if (this.lines.length >= MAX_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), 250);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    this.send(this.attempt, lines);
  }
}
