/**
 * RunBeadsRequest and RunBeadsResponse (node_agent.proto) encoded and decoded field by field with
 * protobuf-es's wire reader and writer, without their descriptors: a relayed `bd` sends one
 * request and reads one answer, and booting the generated descriptors cost it more than the
 * encoding. run-beads-wire.test.ts proves both agree with the generated schemas, so a field added
 * to either message fails that test until it is added here too.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

export interface RunBeadsCall {
  rig: string;
  args: string[];
  actor: string;
  stdin: Uint8Array;
}

export interface RunBeadsAnswer {
  stdout: Uint8Array;
  stderr: Uint8Array;
  exitCode: number;
}

/** The Coordinator's RunBeads on the wire (its package carries the protocol version). */
export const RUN_BEADS_PATH = '/gastown.v1.Coordinator/RunBeads';

export function encodeRunBeadsRequest(req: RunBeadsCall): Uint8Array {
  const w = new BinaryWriter();
  // proto3: fields at their default value are not written.
  if (req.rig !== '') w.tag(1, WireType.LengthDelimited).string(req.rig);
  for (const arg of req.args) w.tag(2, WireType.LengthDelimited).string(arg);
  if (req.actor !== '') w.tag(3, WireType.LengthDelimited).string(req.actor);
  if (req.stdin.length > 0) w.tag(4, WireType.LengthDelimited).bytes(req.stdin);
  return w.finish();
}

export function decodeRunBeadsResponse(bytes: Uint8Array): RunBeadsAnswer {
  const r = new BinaryReader(bytes);
  const res: RunBeadsAnswer = { stdout: new Uint8Array(), stderr: new Uint8Array(), exitCode: 0 };
  while (r.pos < r.len) {
    const [field, type] = r.tag();
    if (field === 1 && type === WireType.LengthDelimited) res.stdout = r.bytes();
    else if (field === 2 && type === WireType.LengthDelimited) res.stderr = r.bytes();
    else if (field === 3 && type === WireType.Varint) res.exitCode = r.int32();
    else r.skip(type, field);
  }
  return res;
}
