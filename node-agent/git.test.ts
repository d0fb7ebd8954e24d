import { describe, expect, it } from 'vitest';
import { normalizeGitUrl } from './git.js';

describe('normalizeGitUrl', () => {
  it('keeps URLs git understands as they are', () => {
    for (const url of [
      'https://github.com/steveyegge/wyvern',
      'ssh://git@example.invalid:2222/w.git',
      'file:///srv/git/w.git',
      'git@github.com:steveyegge/wyvern.git',
      'deploy@host.example:repos/w.git',
    ])
      expect(normalizeGitUrl(url, '/somewhere')).toBe(url);
  });
  it('makes local paths absolute against cwd', () => {
    expect(normalizeGitUrl('repos/w.git', '/home/me')).toBe('/home/me/repos/w.git');
    expect(normalizeGitUrl('../w.git', '/home/me/town')).toBe('/home/me/w.git');
    expect(normalizeGitUrl('/srv/git/w.git/', '/x')).toBe('/srv/git/w.git');
    expect(normalizeGitUrl('./w', '/x')).toBe('/x/w');
  });
});
