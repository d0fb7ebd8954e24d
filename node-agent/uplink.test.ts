import { describe, expect, it } from 'vitest';
import {
  Coordinator,
  GtError,
  create,
  RelayResponseSchema,
  encodeResponse,
  type AgentFrameSchema,
  type MessageInitShape,
} from '../proto/index.js';
import { Uplink } from './uplink.js';

type Frame = MessageInitShape<typeof AgentFrameSchema>;

function stream(uplink: Uplink) {
  const sent: Frame[] = [];
  const close = uplink.open((f) => sent.push(f));
  const lastId = () => {
    const f = sent.at(-1)?.frame;
    return f?.case === 'relayRequest' ? (f.value.requestId ?? '') : '';
  };
  return { sent, close, lastId };
}

const listRigs = Coordinator.methods.find((m) => m.name === 'ListRigs');

describe('Uplink', () => {
  it('sends the call up the open stream and resolves the answer with the same request id', async () => {
    const uplink = new Uplink('w1');
    const s = stream(uplink);
    const call = uplink.call('ListRigs', {}, { timeoutMs: 5_000 });
    const f = s.sent[0]?.frame;
    expect(f?.case === 'relayRequest' && [f.value.method, f.value.timeoutMs]).toEqual([
      'ListRigs',
      5_000,
    ]);
    if (listRigs === undefined) throw new Error('no ListRigs');
    uplink.answer(create(RelayResponseSchema, { requestId: 'someone-else', ok: true }));
    uplink.answer(
      create(RelayResponseSchema, {
        requestId: s.lastId(),
        ok: true,
        response: encodeResponse(listRigs, { rigs: [{ name: 'alpha', machine: 'local' }] }),
      }),
    );
    expect(await call).toMatchObject({ rigs: [{ name: 'alpha', machine: 'local' }] });
  });

  it('rebuilds the GtError of a refused call', async () => {
    const uplink = new Uplink('w1');
    const s = stream(uplink);
    const call = uplink.call('GetStatus', {});
    uplink.answer(
      create(RelayResponseSchema, {
        requestId: s.lastId(),
        ok: false,
        errorCode: 'GT_RIG_NOT_FOUND',
        errorMessage: 'no rig named "x"',
        errorHint: 'see gt rigs',
      }),
    );
    await expect(call).rejects.toMatchObject({
      code: 'GT_RIG_NOT_FOUND',
      message: 'no rig named "x"',
      hint: 'see gt rigs',
    });
  });

  it('fails at once without a stream, on a stream that closes, on abort and on its deadline', async () => {
    const uplink = new Uplink('w1');
    await expect(uplink.call('GetStatus', {})).rejects.toMatchObject({
      code: 'GT_COORDINATOR_UNREACHABLE',
      message: 'the coordinator is not connected to machine w1 (no Attach stream)',
    });
    const s = stream(uplink);
    const pending = uplink.call('GetStatus', {});
    s.close();
    await expect(pending).rejects.toMatchObject({
      code: 'GT_COORDINATOR_UNREACHABLE',
      message: expect.stringContaining('closed before the answer came'),
    });
    expect(uplink.connected).toBe(false);

    stream(uplink);
    const abort = new AbortController();
    const aborted = uplink.call('GetStatus', {}, { signal: abort.signal });
    abort.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'GT_CANCELLED' });
    const late = uplink.call('GetStatus', {}, { timeoutMs: 10 });
    await expect(late).rejects.toMatchObject({ code: 'GT_TIMEOUT' });
  });

  it('refuses a method that is not relayable without sending anything', async () => {
    const uplink = new Uplink('w1');
    const s = stream(uplink);
    const refused = uplink.call('Shutdown', {});
    await expect(refused).rejects.toBeInstanceOf(GtError);
    await expect(refused).rejects.toMatchObject({ code: 'GT_NOT_RELAYABLE' });
    expect(s.sent).toEqual([]);
  });

  it('tells who listens when a stream opens', () => {
    const uplink = new Uplink('w1');
    let opened = 0;
    const off = uplink.onOpen(() => (opened += 1));
    stream(uplink);
    off();
    stream(uplink);
    expect(opened).toBe(1);
  });
});
