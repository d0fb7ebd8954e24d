// Field validation shared by create/update/import-free paths (the CLI's rules, not import's).
import { GtError } from '../../proto/index.js';
import { invalidArgument } from './errors.js';
import type { BeadsStore } from './store.js';
import {
  BUILTIN_DEP_TYPES,
  BUILTIN_ISSUE_TYPES,
  BUILTIN_STATUSES,
  MAX_DEP_TYPE_LENGTH,
  MAX_TITLE_LENGTH,
} from './types.js';

function configuredList(store: BeadsStore, key: string): string[] {
  const raw = store.getConfig(key) ?? '';
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function checkTitle(title: string): string {
  const clean = title.trim();
  if (clean.length === 0 || clean.length > MAX_TITLE_LENGTH) {
    throw invalidArgument(
      `title must be 1–${MAX_TITLE_LENGTH} characters (got ${clean.length})`,
      'give a short one-line title; put details in --description',
    );
  }
  return clean;
}

/** A status must be built-in or listed in config `status.custom`. */
export function checkStatus(store: BeadsStore, status: string): string {
  const custom = configuredList(store, 'status.custom');
  if ((BUILTIN_STATUSES as readonly string[]).includes(status) || custom.includes(status)) {
    return status;
  }
  throw new GtError('GT_INVALID_ARGUMENT', `invalid status "${status}"`, {
    hint: `use one of: ${[...BUILTIN_STATUSES, ...custom].join(', ')} (custom statuses: \`bd config set status.custom a,b\`)`,
  });
}

export function checkIssueType(store: BeadsStore, type: string): string {
  const custom = configuredList(store, 'types.custom');
  if ((BUILTIN_ISSUE_TYPES as readonly string[]).includes(type) || custom.includes(type)) {
    return type;
  }
  throw new GtError('GT_INVALID_ARGUMENT', `invalid issue type "${type}"`, {
    hint: `use one of: ${[...BUILTIN_ISSUE_TYPES, ...custom].join(', ')} (custom types: \`bd config set types.custom a,b\`)`,
  });
}

export function checkDepType(type: string): string {
  const clean = type.trim();
  if (clean === '' || clean.length > MAX_DEP_TYPE_LENGTH) {
    throw invalidArgument(
      `invalid dependency type "${type}"`,
      `use ${BUILTIN_DEP_TYPES.join(', ')} or any name of 1–${MAX_DEP_TYPE_LENGTH} characters`,
    );
  }
  return clean;
}
