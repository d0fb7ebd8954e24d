// The light unary client (proto/unix-unary.ts) against a real grpc-js server on a real unix
// socket: the Coordinator service as the grpc-js adapter serves it (what a node agent serves its
// sessions). Answers, GtErrors with hint and details, an unknown method, deadlines, cancellation,
// an answer over the size limit, and sockets nobody answers on.
import type { GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import {
  Coordinator,
  GtError,
  RUN_BEADS_PATH,
  decodeRunBeadsResponse,
  encodeRunBeadsRequest,
  loadGrpc,
  unixUnary,
  type CallContext,
  type RunBeadsRequest,
  type ServiceDesc,
  type ServiceImpl,
} from '../../proto/index.js';
import { startHungSocket } from './coordinator/fleet-helpers.js';
import { tempDir } from '../helpers/tmp.js';

/** RunBeads that echoes its request, fails for rig "bad", waits for rig "slow"; nothing else. */
async function runBeads(req: RunBeadsRequest, ctx: CallContext) {
  if (req.rig === 'bad')
    throw new GtError('GT_RIG_NOT_FOUND', 'no rig "bad" — anywhere', {
      hint: 'see `gt rigs`; 100% sure',
      details: { rig: 'bad', known: ['app'] },
    });
  if (req.rig === 'slow')
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
  return {
    stdout: Buffer.from(`${req.rig}|${req.args.join(',')}|${req.actor}|${req.stdin.length}`),
    stderr: Buffer.from(req.rig === 'big' ? 'x'.repeat(200_000) : ''),
    exitCode: req.args.length,
  };
}

async function serve(): Promise<{ socketPath: string; dir: string }> {
  const grpc = await loadGrpc();
  const dir = tempDir('gt-unary-');
  const socketPath = join(dir, 'agent-gt.sock');
  const impl = new Proxy(
    {},
    {
      get: (_target, name) =>
        name === 'runBeads'
          ? runBeads
          : async () => {
              throw new GtError('GT_NOT_IMPLEMENTED', `not in this test: ${String(name)}`);
            },
    },
  );
  const server = await grpc.serveUnix({
    socketPath,
    services: [
      {
        service: Coordinator as unknown as ServiceDesc<GenServiceMethods>,
        impl: impl as ServiceImpl<GenServiceMethods>,
      },
    ],
  });
  onTestFinished(() => grpc.stopServer(server, 200));
  return { socketPath, dir };
}

const call = (rig: string, args: string[] = ['ready']) =>
  encodeRunBeadsRequest({ rig, args, actor: 'app/Nux', stdin: new Uint8Array([1, 2, 3]) });

describe('one unary gRPC call over node:http2 on a unix socket', () => {
  it('gets the answer grpc-js serves, large answers in several frames too', async () => {
    const { socketPath } = await serve();
    const res = decodeRunBeadsResponse(
      await unixUnary({ socketPath, path: RUN_BEADS_PATH, request: call('app', ['a', 'b c']) }),
    );
    expect(Buffer.from(res.stdout).toString()).toBe('app|a,b c|app/Nux|3');
    expect(res.exitCode).toBe(2);
    const big = decodeRunBeadsResponse(
      await unixUnary({ socketPath, path: RUN_BEADS_PATH, request: call('big') }),
    );
    expect(Buffer.from(big.stderr).toString()).toBe('x'.repeat(200_000));
    // Calls at once, each on its own connection, each its own answer.
    const many = await Promise.all(
      ['r0', 'r1', 'r2', 'r3'].map(async (rig) =>
        Buffer.from(
          decodeRunBeadsResponse(
            await unixUnary({ socketPath, path: RUN_BEADS_PATH, request: call(rig) }),
          ).stdout,
        ).toString(),
      ),
    );
    expect(many).toEqual(['r0', 'r1', 'r2', 'r3'].map((r) => `${r}|ready|app/Nux|3`));
  });

  it("rebuilds the server's GtError with its code, message, hint and details", async () => {
    const { socketPath } = await serve();
    const err = await unixUnary({ socketPath, path: RUN_BEADS_PATH, request: call('bad') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GtError);
    expect(err).toMatchObject({
      code: 'GT_RIG_NOT_FOUND',
      message: 'no rig "bad" — anywhere',
      hint: 'see `gt rigs`; 100% sure',
      details: { rig: 'bad', known: ['app'] },
    });
    // A method this server does not have (another protocol version): said so.
    await expect(
      unixUnary({ socketPath, path: '/gastown.v2.Coordinator/RunBeads', request: call('app') }),
    ).rejects.toMatchObject({ code: 'GT_VERSION_SKEW' });
  });

  it('gives up at its deadline or when cancelled, and refuses an answer over its limit', async () => {
    const { socketPath } = await serve();
    const slow = { socketPath, path: RUN_BEADS_PATH, request: call('slow') };
    await expect(unixUnary({ ...slow, timeoutMs: 200 })).rejects.toMatchObject({
      code: 'GT_TIMEOUT',
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(unixUnary({ ...slow, signal: controller.signal })).rejects.toMatchObject({
      code: 'GT_CANCELLED',
    });
    await expect(
      unixUnary({ socketPath, path: RUN_BEADS_PATH, request: call('big'), maxResponseBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'GT_INTERNAL', message: expect.stringMatching(/over 1000/) });
  });

  it('says the socket cannot be reached when nobody listens, and times out on a hung one', async () => {
    const dir = tempDir('gt-unary-');
    const notASocket = join(dir, 'stale.sock');
    writeFileSync(notASocket, '');
    const refused = await unixUnary({
      socketPath: notASocket,
      path: RUN_BEADS_PATH,
      request: call('app'),
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'GT_MACHINE_UNREACHABLE',
      message: expect.stringContaining(`cannot reach ${notASocket}`),
    });
    await expect(
      unixUnary({ socketPath: join(dir, 'none.sock'), path: RUN_BEADS_PATH, request: call('a') }),
    ).rejects.toMatchObject({ code: 'GT_MACHINE_UNREACHABLE' });
    const hung = join(dir, 'hung.sock');
    await startHungSocket(hung);
    await expect(
      unixUnary({ socketPath: hung, path: RUN_BEADS_PATH, request: call('app'), timeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'GT_TIMEOUT' });
  });
});
