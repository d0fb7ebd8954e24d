import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { RunBeadsRequestSchema, RunBeadsResponseSchema } from './gen/gastown/v1/node_agent_pb.js';
import { Coordinator } from './gen/gastown/v1/coordinator_pb.js';
import { RUN_BEADS_PATH, decodeRunBeadsResponse, encodeRunBeadsRequest } from './run-beads-wire.js';

describe('RunBeads on the wire without descriptors', () => {
  it('encodes the request exactly as the generated schema does, every field and none', () => {
    const cases = [
      {
        rig: 'app',
        args: ['update', 'app-1', '--claim', ''],
        actor: 'app/Nux',
        stdin: new Uint8Array([0, 1, 255]),
      },
      {
        rig: 'wörk',
        args: ['create', 'A title — with ünïcode', '-p', '1'],
        actor: '',
        stdin: new Uint8Array(),
      },
      { rig: '', args: [], actor: '', stdin: new Uint8Array() },
    ];
    for (const c of cases) {
      const ours = encodeRunBeadsRequest(c);
      expect(Buffer.from(ours)).toEqual(
        Buffer.from(toBinary(RunBeadsRequestSchema, create(RunBeadsRequestSchema, c))),
      );
      const back = fromBinary(RunBeadsRequestSchema, ours);
      expect({ rig: back.rig, args: back.args, actor: back.actor, stdin: back.stdin }).toEqual(c);
    }
  });

  it('decodes what the generated schema encodes, negative exit codes and unknown fields too', () => {
    const cases = [
      {
        stdout: Buffer.from('1. app-1 [P2] [task] open - x\n'),
        stderr: Buffer.from('warn\n'),
        exitCode: 1,
      },
      { stdout: new Uint8Array(), stderr: new Uint8Array(), exitCode: 0 },
      { stdout: new Uint8Array(70_000).fill(7), stderr: new Uint8Array(), exitCode: -2 },
    ];
    for (const c of cases) {
      const bytes = toBinary(RunBeadsResponseSchema, create(RunBeadsResponseSchema, c));
      const ours = decodeRunBeadsResponse(bytes);
      expect({
        ...ours,
        stdout: Buffer.from(ours.stdout),
        stderr: Buffer.from(ours.stderr),
      }).toEqual({
        ...c,
        stdout: Buffer.from(c.stdout),
        stderr: Buffer.from(c.stderr),
      });
    }
    // A field a newer node agent adds (number 9, a string) is skipped, not misread.
    const newer = Buffer.concat([
      Buffer.from(
        toBinary(RunBeadsResponseSchema, create(RunBeadsResponseSchema, { exitCode: 3 })),
      ),
      Buffer.from([0x4a, 0x02, 0x68, 0x69]),
    ]);
    expect(decodeRunBeadsResponse(newer).exitCode).toBe(3);
  });

  it('names the Coordinator’s RunBeads as the generated service does', () => {
    const method = Coordinator.methods.find((m) => m.name === 'RunBeads');
    expect(method?.input).toBe(RunBeadsRequestSchema);
    expect(method?.output).toBe(RunBeadsResponseSchema);
    expect(RUN_BEADS_PATH).toBe(`/${Coordinator.typeName}/${method?.name}`);
  });
});
