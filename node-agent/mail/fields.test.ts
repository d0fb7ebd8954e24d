import { describe, expect, it } from 'vitest';
import { extraFields, extraJson, sendRequestOf } from './fields.js';

describe('mail fields beyond the wire', () => {
  it('carries every field the wire has none for, and gives them back', () => {
    const mail = {
      id: 'm1',
      from: 'app/refinery',
      to: 'app/Nux',
      subject: 'Merged: app-1',
      body: 'b',
      epoch: 4,
      issue: 'app-1',
      head: 'abc',
      conflict_files: ['a.ts'],
      gone: undefined,
    };
    const json = extraJson(mail);
    expect(JSON.parse(json)).toEqual({ issue: 'app-1', head: 'abc', conflict_files: ['a.ts'] });
    expect(extraFields(json)).toEqual({ issue: 'app-1', head: 'abc', conflict_files: ['a.ts'] });
    expect(sendRequestOf(mail)).toMatchObject({ epoch: 4n, type: 'notice', extraJson: json });
    expect(extraJson({ id: 'x', from: 'a', to: 'b', subject: '', body: '', read: true })).toBe('');
  });

  it('never lets the extras override a field the wire carries, and ignores what is not an object', () => {
    expect(extraFields('{"to":"mayor","epoch":9,"issue":"app-2"}')).toEqual({ issue: 'app-2' });
    for (const bad of ['', 'not json', '[1,2]', '"text"', 'null', '3'])
      expect(extraFields(bad), bad).toEqual({});
  });
});
