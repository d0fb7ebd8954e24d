/**
 * Progress of long work on several machines (provisioning, upgrades): steps and bytes.
 * On a TTY one line per machine, redrawn in place (at most every 100 ms); piped, plain lines:
 * each step on its own line (`  upload: …`, prefixed by the machine when there are several, or
 * nothing at all for `quiet`). Nothing is written under --json.
 */
import { drawProgress, err, progressOnTty } from './output.js';

export interface ProgressOptions {
  json: boolean;
  /** Piped: print no step lines (gt machine upgrade --all prints one result line per machine). */
  quietWhenPiped?: boolean;
}

const MB = 1e6;

function bar(sent: number, total: number): string {
  const width = 20;
  const filled = total === 0 ? width : Math.round((sent / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(sent / MB).toFixed(1)}/${(total / MB).toFixed(1)} MB`;
}

export class Progress {
  private readonly tty: boolean;
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly names: readonly string[],
    private readonly options: ProgressOptions,
  ) {
    this.tty = !options.json && progressOnTty();
    for (const n of names) this.lines.set(n, 'waiting');
  }

  step(name: string, step: string, detail?: string): void {
    const text = `${step}${detail === undefined ? '' : `: ${detail}`}`;
    if (this.tty) {
      this.lines.set(name, text);
      this.schedule();
    } else if (!this.options.json && this.options.quietWhenPiped !== true)
      err(this.names.length > 1 ? `${name}: ${text}` : `  ${text}`);
  }

  bytes(name: string, sent: number, total: number): void {
    if (!this.tty) return;
    this.lines.set(name, `upload ${bar(sent, total)}`);
    this.schedule();
  }

  /** The machine's last line (shown until the end). */
  finish(name: string, text: string): void {
    if (!this.tty) return;
    this.lines.set(name, text);
    this.schedule();
  }

  /** Draw the final state and stop. */
  end(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tty) this.draw();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private draw(): void {
    const width = Math.max(...this.names.map((n) => n.length));
    const lines = this.names.map((n) => `${n.padEnd(width)}  ${this.lines.get(n) ?? ''}`);
    drawProgress(lines, this.drawn);
    this.drawn = lines.length;
  }
}
