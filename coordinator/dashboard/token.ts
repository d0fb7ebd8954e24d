/**
 * The dashboard's secret: one token per town in `<town>/run/dashboard.token` (owner-only, 0600),
 * made on first use and kept across daemon restarts (an open page reconnects with it). Anyone who
 * can read it can act as the Overseer from the page, exactly as anyone who can reach the
 * coordinator's owner-only socket can with `gt`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { GtError } from '../../proto/index.js';

export const dashboardTokenPath = (runDir: string): string => join(runDir, 'dashboard.token');
export const dashboardInfoPath = (runDir: string): string => join(runDir, 'dashboard.json');

const TOKEN_RE = /^[A-Za-z0-9_-]{32,128}$/;

/**
 * Read the town's token, or make one: written whole to a temp file, then linked into place (a
 * link never replaces a file), so two daemons starting at once agree on one and a crash never
 * leaves half a token.
 */
export function ensureDashboardToken(runDir: string): string {
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const file = dashboardTokenPath(runDir);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'w' });
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
  return readDashboardToken(runDir, true);
}

/** The town's token; a file others can read is made owner-only again (repair) or refused. */
export function readDashboardToken(runDir: string, repair = false): string {
  const file = dashboardTokenPath(runDir);
  if (!existsSync(file))
    throw new GtError('GT_CONFIG_MISSING', `${file} is missing: the dashboard has no token`, {
      hint: 'restart the daemon (`gt down`, then `gt up`): it makes a new one',
    });
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    if (!repair)
      throw new GtError(
        'GT_CONFIG_INVALID',
        `${file} can be read by others (mode ${mode.toString(8)})`,
        {
          hint: `make it owner-only: chmod 600 ${file}`,
        },
      );
    chmodSync(file, 0o600);
  }
  const token = readFileSync(file, 'utf8').trim();
  if (!TOKEN_RE.test(token))
    throw new GtError('GT_CONFIG_INVALID', `${file} does not hold a dashboard token`, {
      hint: `remove it and restart the daemon (\`gt down\`, then \`gt up\`): a new one is made`,
    });
  return token;
}

/** Constant-time comparison of a presented token with the town's. */
export function tokenMatches(presented: string, token: string): boolean {
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
