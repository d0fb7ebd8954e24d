/**
 * The Attach stream, agent side: the coordinator opens it and keeps it open; the agent answers
 * with a welcome, then heartbeats on the interval the coordinator asked for, pongs to pings, and
 * (later) events and relayed requests. Node agents never dial out: this is their only way up.
 */
import type { Log } from './log.js';
import type { Uplink } from './uplink.js';
import {
  FrameQueue,
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
  /** Carries this machine's calls up the stream (the standalone node agent has one). */
  uplink?: Uplink;
}

export function attachStream(options: AttachOptions): AsyncIterable<Frame> {
  const queue = new FrameQueue<Frame>();
  let timer: NodeJS.Timeout | undefined;
  let sequence = 0n;
  let closeUplink: (() => void) | undefined;
  const stop = (): void => {
    if (timer !== undefined) clearInterval(timer);
    closeUplink?.();
    closeUplink = undefined;
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
          closeUplink?.();
          closeUplink = options.uplink?.open((frame) => queue.push(frame));
        } else if (f.case === 'relayResponse') {
          options.uplink?.answer(f.value);
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
