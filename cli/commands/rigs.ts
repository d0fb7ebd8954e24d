import { resolve } from 'node:path';
import {
  CoordinatorListRigsResponseSchema,
  GtError,
  RemoveRigResponseSchema,
  RigInfoSchema,
} from '../../proto/index.js';
import { err, messageJson, out, printJson, table } from '../output.js';
import { optionsOf, withCoordinator } from './context.js';

/** A local path (not a URL, not scp-style user@host:path) is made absolute against the caller's cwd. */
export function absoluteGitUrl(url: string, cwd = process.cwd()): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url)) return url;
  return resolve(cwd, url);
}

export async function rigAdd(...args: unknown[]): Promise<void> {
  const [name, rawUrl] = args as [string, string];
  const opts = optionsOf(args);
  const machine = (opts.machine as string | undefined) ?? '';
  // The URL is as seen from the rig's machine: a path of ours means nothing on another machine.
  const remote = machine !== '' && machine !== 'local';
  if (remote && absoluteGitUrl(rawUrl, '/') !== rawUrl && !rawUrl.startsWith('/'))
    throw new GtError(
      'GT_USAGE',
      `"${rawUrl}" is a relative path; for a rig on machine ${machine} the URL is read on ${machine}`,
      { hint: `give a URL, or an absolute path on ${machine}` },
    );
  const gitUrl = remote ? rawUrl : absoluteGitUrl(rawUrl);
  await withCoordinator(opts, async ({ client }) => {
    const rig = await client.addRig({
      name,
      gitUrl,
      prefix: (opts.prefix as string | undefined) ?? '',
      machine,
    });
    if (opts.json === true) return printJson(messageJson(RigInfoSchema, rig));
    out(`added rig "${rig.name}" (prefix ${rig.prefix}) at ${rig.path}`);
  });
}

export async function rigRemove(...args: unknown[]): Promise<void> {
  const [name] = args as [string];
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.removeRig({ name, force: opts.force === true });
    if (opts.json === true) return printJson(messageJson(RemoveRigResponseSchema, res));
    out(`removed rig "${res.name}" (${res.path})`);
  });
}

export async function rigs(...args: unknown[]): Promise<void> {
  const opts = optionsOf(args);
  await withCoordinator(opts, async ({ client }) => {
    const res = await client.listRigs({});
    if (opts.json === true) return printJson(messageJson(CoordinatorListRigsResponseSchema, res));
    // A machine that could not answer is named (its rigs are missing); the others are listed.
    for (const m of res.unreachable)
      err(
        `warning: machine ${m.name} (${m.state}) did not answer: ${m.detail}; its rigs are not listed`,
      );
    if (res.rigs.length === 0 && res.unreachable.length === 0)
      return out('No rigs yet: add one with `gt rig add <name> <git_url>`.');
    out(
      table(
        ['NAME', 'PREFIX', 'MACHINE', 'POLECATS', 'GIT URL', 'ADDED'],
        res.rigs.map((r) => [
          r.name,
          r.prefix,
          r.machine,
          String(r.polecatCount),
          r.gitUrl,
          r.addedAt,
        ]),
      ),
    );
  });
}
