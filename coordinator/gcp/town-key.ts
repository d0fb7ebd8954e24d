/**
 * The town's own SSH key for the instances it creates: `config/ssh/id_ed25519` under the town
 * (directory 0700, key 0600), made once with ssh-keygen. Its public half goes into a new
 * instance's `ssh-keys` metadata.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { GtError, errorMessage } from '../../proto/index.js';

export interface TownKey {
  privateKey: string;
  publicKey: string;
}

export function townKeyPath(townRoot: string): string {
  return join(townRoot, 'config', 'ssh', 'id_ed25519');
}

export async function ensureTownKey(townRoot: string): Promise<TownKey> {
  const file = townKeyPath(townRoot);
  if (!existsSync(file)) {
    const dir = join(townRoot, 'config', 'ssh');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const comment = `gastown@${basename(townRoot)}`;
    try {
      await promisify(execFile)('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        comment,
        '-f',
        file,
      ]);
    } catch (err) {
      throw new GtError(
        'GT_INTERNAL',
        `cannot make the town's SSH key ${file}: ${errorMessage(err)}`,
        {
          hint: 'install the OpenSSH client (ssh-keygen), or give a key with --identity FILE',
          cause: err,
        },
      );
    }
  }
  return publicKeyOf(file);
}

/** A private key file and its `.pub` line. */
export function publicKeyOf(privateKey: string): TownKey {
  const pub = `${privateKey}.pub`;
  if (!existsSync(pub))
    throw new GtError(
      'GT_USAGE',
      `${pub} does not exist: the public half of ${privateKey} goes into the new instance`,
      {
        hint: `write it with \`ssh-keygen -y -f ${privateKey} > ${pub}\``,
      },
    );
  return { privateKey, publicKey: readFileSync(pub, 'utf8').trim() };
}
