/**
 * Waiting for a new instance's sshd: it is RUNNING before its guest has booted. We wait until a
 * TCP connection to port 22 gets an SSH banner (`SSH-2.0-…`), retrying every second.
 */
import { connect } from 'node:net';
import { GtError } from '../../proto/index.js';

function banner(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('data', (b: Buffer) => done(b.subarray(0, 4).toString('latin1') === 'SSH-'));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

export async function waitForSshd(
  host: string,
  port: number,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.signal?.throwIfAborted();
    if (await banner(host, port, 5_000)) return;
    if (Date.now() > deadline)
      throw new GtError(
        'GT_SSH_TIMEOUT',
        `sshd on ${host}:${port} did not answer within ${Math.round(options.timeoutMs / 1000)} s`,
        {
          hint: `check that the project's firewall lets TCP port ${port} in (a rule allowing tcp:${port} on the default network) and that the instance booted (its serial console)`,
        },
      );
    await new Promise((r) => setTimeout(r, 1_000));
  }
}
