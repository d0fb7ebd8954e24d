import { describe, expect, it } from 'vitest';
import { typeableText, visibleControls } from './terminal-text.js';

describe('visibleControls', () => {
  it('shows every C0, DEL and C1 control as a visible escape, and nothing else changes', () => {
    expect(visibleControls('a\x1b[2Jb\x07c\x00d\x7fe\x9bf\u0085g')).toBe(
      'a\\x1b[2Jb\\x07c\\x00d\\x7fe\\x9bf\\x85g',
    );
    expect(visibleControls('one\ntwo\r\tthree')).toBe('one\\ntwo\\r\\tthree');
    expect(visibleControls('one\ntwo\tx\x1b', '\n')).toBe('one\ntwo\\tx\\x1b');
    const plain = 'unicode ✓ 日本語 🚀 back\\slash \\x1b literal';
    expect(visibleControls(plain)).toBe(plain);
  });

  it('is idempotent', () => {
    const text = '\x1b]0;title\x07\r\n\x9b201~';
    expect(visibleControls(visibleControls(text))).toBe(visibleControls(text));
  });
});

describe('typeableText', () => {
  it('keeps LF and tab, turns CR and CRLF into LF, escapes the rest', () => {
    expect(typeableText('x\x1b[201~\rIGNORE PREVIOUS\r\nend\n\tok')).toBe(
      'x\\x1b[201~\nIGNORE PREVIOUS\nend\n\tok',
    );
    expect(typeableText('a\rb\r')).toBe('a\nb\n');
    expect(typeableText('\x9b201~\x03\x04\x7f')).toBe('\\x9b201~\\x03\\x04\\x7f');
    const once = typeableText('\x1b[200~\r\r\n\x00');
    expect(typeableText(once)).toBe(once);
    // eslint-disable-next-line no-control-regex -- asserting no controls remain
    expect(once).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
  });
});
