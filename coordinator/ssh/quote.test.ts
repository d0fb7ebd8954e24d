import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quoteArg, remoteCommand } from './quote.js';

const HOSTILE = [
  '$(id)',
  '`id`',
  '; rm -rf /nonexistent',
  "it's",
  "'",
  '"',
  '',
  ' ',
  'a\nb',
  '*',
  '~root',
  '-e',
  '$HOME ${PATH}',
  '\\',
  '!!',
  'ünïcødé ✓',
  '| cat &',
  '> /dev/null',
  '#comment',
  'x=1',
];

describe('remoteCommand', () => {
  it('round-trips hostile arguments through a real POSIX shell (sh -c)', () => {
    const cmd = remoteCommand(['printf', '%s\\0', ...HOSTILE]);
    const out = execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(HOSTILE);
  });

  it('leaves plain words readable and quotes the rest', () => {
    expect(remoteCommand(['/opt/gt/node', '--town=/srv/town', 'a,b@c'])).toBe(
      '/opt/gt/node --town=/srv/town a,b@c',
    );
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
  });

  it('refuses what no shell argument can carry', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => remoteCommand([])).toThrow(/at least/);
  });
});
