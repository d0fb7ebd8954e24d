/**
 * Doctor check of the town's git identity on this machine (config/git/, see git-identity.ts):
 * absent is fine (git uses the machine's own ssh setup); present, the key must be owner-only and
 * look like a private key, and known_hosts must trust at least one host — or every origin over
 * ssh is refused. --fix only tightens the key's mode (nothing is lost); the rest is
 * `gt git-identity set` again.
 */
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import type { DoctorCheck, DoctorProblem } from './town/index.js';
import { gitIdentityPaths } from './git-identity.js';

const SET_AGAIN =
  'set it again with `gt git-identity set KEY --known-hosts FILE` (or remove it with `gt git-identity remove`)';

export const GIT_IDENTITY_CHECK: DoctorCheck = {
  id: 'git-identity',
  scope: 'workspace',
  title: "the town's git identity (config/git/) is usable or absent",
  run({ townRoot }) {
    const paths = gitIdentityPaths(townRoot);
    if (!existsSync(paths.key)) return Promise.resolve([]);
    const problems: DoctorProblem[] = [];
    const mode = statSync(paths.key).mode & 0o777;
    if ((mode & 0o077) !== 0)
      problems.push({
        status: 'error',
        message: `${paths.key} can be read by others (mode ${mode.toString(8).padStart(4, '0')}); ssh refuses such a key, so git cannot reach any origin over ssh`,
        hint: `run \`chmod 600 ${paths.key}\` (gt doctor --fix does)`,
        repair: () => {
          chmodSync(paths.key, 0o600);
          return Promise.resolve(`made ${paths.key} owner-only (0600)`);
        },
      });
    if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(readFileSync(paths.key, 'utf8')))
      problems.push({
        status: 'error',
        message: `${paths.key} is not a private key`,
        hint: SET_AGAIN,
      });
    const hosts = existsSync(paths.knownHosts)
      ? readFileSync(paths.knownHosts, 'utf8')
          .split('\n')
          .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
      : [];
    if (hosts.length === 0)
      problems.push({
        status: 'error',
        message: `${paths.knownHosts} trusts no host key: every origin over ssh is refused`,
        hint: SET_AGAIN,
      });
    return Promise.resolve(problems);
  },
};
