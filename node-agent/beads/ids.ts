/**
 * Beads ids: `<prefix>-<hash>`, the hash a base36 rendering of SHA-256 over the content,
 * its actor, its creation time and a nonce; children of an epic are `<parent>.<n>`.
 */
import { createHash } from 'node:crypto';
import { GtError } from '../../proto/index.js';

/** Hash length for a store holding `count` top-level issues (beads' birthday-bound table). */
export function hashLengthFor(count: number): number {
  if (count < 160) return 3;
  if (count < 1_000) return 4;
  if (count < 6_000) return 5;
  if (count < 35_000) return 6;
  if (count < 200_000) return 7;
  return 8;
}

export interface HashIdInput {
  prefix: string;
  title: string;
  description: string;
  actor: string;
  createdAt: string;
  nonce: number;
  length: number;
}

/** One candidate id; the caller retries with the next nonce on collision. */
export function hashId(input: HashIdInput): string {
  const digest = createHash('sha256')
    .update(`${input.title}|${input.description}|${input.actor}|${input.createdAt}|${input.nonce}`)
    .digest();
  let value = 0n;
  for (let i = 0; i < 12; i++) value = (value << 8n) | BigInt(digest[i] ?? 0);
  const text = value.toString(36).padStart(input.length, '0');
  return `${input.prefix}-${text.slice(0, input.length)}`;
}

/** Next child id under `parentId`, given the ids of its existing children. */
export function nextChildId(parentId: string, existingIds: readonly string[]): string {
  let largest = 0;
  const head = `${parentId}.`;
  for (const id of existingIds) {
    if (!id.startsWith(head)) continue;
    const suffix = id.slice(head.length);
    if (!/^\d+$/.test(suffix)) continue;
    largest = Math.max(largest, Number(suffix));
  }
  return `${head}${largest + 1}`;
}

/** True for an id of the form `<anything>.<n>` (a child of an epic). */
export function isChildId(id: string): boolean {
  return /\.\d+$/.test(id);
}

const PREFIX_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

export function validatePrefix(prefix: string): string {
  const clean = prefix.replace(/-+$/, '');
  if (!PREFIX_RE.test(clean)) {
    throw new GtError('GT_INVALID_ARGUMENT', `invalid issue prefix "${prefix}"`, {
      hint: 'use letters, digits, "_" or "-" (up to 32), e.g. `bd init --prefix gt`',
    });
  }
  return clean;
}

/**
 * Resolve a user-typed id against `ids` the beads way: exact match, then prefix + input, then a
 * unique substring of the hash part. Ambiguity is an error listing the candidates.
 */
export function resolveIdAmong(input: string, prefix: string, ids: readonly string[]): string {
  const typed = input.trim();
  if (ids.includes(typed)) return typed;
  const withPrefix = `${prefix}-${typed}`;
  if (ids.includes(withPrefix)) return withPrefix;
  const needle = typed.toLowerCase();
  const matches = ids.filter((id) => {
    const dash = id.indexOf('-');
    return id
      .slice(dash + 1)
      .toLowerCase()
      .includes(needle);
  });
  if (matches.length === 1 && matches[0] !== undefined) return matches[0];
  if (matches.length === 0) {
    throw new GtError('GT_NOT_FOUND', `no issue found matching "${typed}"`, {
      hint: 'run `bd list` to see the ids',
    });
  }
  const shown = matches.slice(0, 10);
  throw new GtError(
    'GT_INVALID_ARGUMENT',
    `ambiguous id "${typed}" matches ${matches.length} issues: ${shown.join(', ')}${matches.length > shown.length ? ', …' : ''}`,
    { hint: 'type more characters of the id', details: { candidates: matches } },
  );
}
