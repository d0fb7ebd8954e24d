import { randomBytes } from 'node:crypto';

/** A mail id: sortable by time (ms, base36) + 6 random bytes. Unique across machines. */
export function newMailId(now = Date.now()): string {
  return `m-${now.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}
