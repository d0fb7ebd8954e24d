/**
 * The Attach stream, agent side: the coordinator opens it and keeps it open; the agent answers
 * with a welcome, then heartbeats on the interval the coordinator asked for, pongs to pings, and
 * (later) events and relayed requests. Node agents never dial out: this is their only way up.
 */
import type { Log } from './log.js';
import {
  GT_VERSION,
  PROTOCOL_VERSION,
  type AgentFrameSchema,
  type CoordinatorFrame,
  type MessageInitShape,
} from '../proto/index.js';

type Frame = MessageInitShape<typeof AgentFrameSchema>;

export interface AttachOptions {
  machine: string;
  frames: AsyncIterable<CoordinatorFrame>;
  signal: AbortSignal;
  log: Log;
  sessionCount?: () => number;
}

/** A small async queue: producers push, the stream pulls; end() finishes it. */
class FrameQueue {
  private readonly items: Frame[] = [];
  private wake: (() => void) | undefined;
  private ended = false;
  push(frame: Frame): void {
    this.items.push(frame);
    this.wake?.();
  }
  end(): void {
    this.ended = true;
    this.wake?.();
  }
  async *drain(): AsyncIterable<Frame> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }
}

export function attachStream(options: AttachOptions): AsyncIterable<Frame> {
  const queue = new FrameQueue();
  let timer: NodeJS.Timeout | undefined;
  let sequence = 0n;
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer);
    queue.end();
  };
  options.signal.addEventListener('abort', stop, { once: true });
  void (async () => {
    try {
      for await (const frame of options.frames) {
        const f = frame.frame;
        if (f.case === 'hello') {
          queue.push({
            frame: {
              case: 'welcome',
              value: {
                agentVersion: GT_VERSION,
                protocolVersion: PROTOCOL_VERSION,
                machine: options.machine,
              },
            },
          });
          const everyMs = Math.max(f.value.heartbeatIntervalMs, 100);
          if (timer !== undefined) clearInterval(timer);
          timer = setInterval(() => {
            sequence += 1n;
            queue.push({
              frame: {
                case: 'heartbeat',
                value: {
                  machine: options.machine,
                  at: new Date().toISOString(),
                  sessions: options.sessionCount?.() ?? 0,
                  sequence,
                },
              },
            });
          }, everyMs);
        } else if (f.case === 'ping') {
          queue.push({ frame: { case: 'pong', value: { nonce: f.value.nonce } } });
        }
      }
    } catch (err) {
      options.log.debug({ err }, 'attach stream closed by peer');
    } finally {
      options.signal.removeEventListener('abort', stop);
      stop();
    }
  })();
  return queue.drain();
}
