// What the suite needs from the machine (sshd, docker, ...), checked before use so a missing piece
// fails with the one command that installs it (test/setup-host.sh) instead of a bare ENOENT.
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export const SETUP_HOST = 'test/setup-host.sh';

/** Throws a clear error naming test/setup-host.sh unless `path` is an executable file. */
export function requireHostBinary(path: string, debianPackage: string): void {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(
      `this test needs ${path} (Debian package ${debianPackage}), which is not installed\n` +
        `hint: run ${SETUP_HOST} (as root) once on this machine; it installs and starts what the suite needs`,
    );
  }
}

/** Throws a clear error naming test/setup-host.sh unless the Docker engine answers. */
export function requireDocker(dockerBinary = 'docker'): void {
  try {
    execFileSync(dockerBinary, ['info'], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    throw new Error(
      'this test needs a running Docker engine (`docker info` failed)\n' +
        `hint: run ${SETUP_HOST} (as root); it installs docker.io and starts dockerd`,
    );
  }
}
