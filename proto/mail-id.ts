import { randomBytes } from 'node:crypto';

/** Random part of a mail id, in base36 characters. */
export const MAIL_ID_RANDOM_CHARS = 10;
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * A mail id: 9 base36 characters of milliseconds (sortable by time) then 10 random base36
 * characters. Assigned once by the sender (coordinator or node agent) so a retried delivery
 * carries the same id and the receiving inbox de-duplicates it (exactly-once delivery).
 */
export function newMailId(now: number = Date.now()): string {
  const time = now.toString(36).padStart(9, '0');
  const bytes = randomBytes(MAIL_ID_RANDOM_CHARS);
  let tail = '';
  for (const byte of bytes) tail += ALPHABET[byte % ALPHABET.length];
  return `${time}${tail}`;
}
