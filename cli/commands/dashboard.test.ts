// When `gt dashboard` opens a browser: only with one at hand ($BROWSER, or xdg-open on a desktop).
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { browserOpener } from './dashboard.js';

const bin = mkdtempSync(join(tmpdir(), 'gt-opener-'));
for (const name of ['xdg-open', 'mybrowser']) {
  writeFileSync(join(bin, name), '#!/bin/sh\n');
  chmodSync(join(bin, name), 0o755);
}
afterAll(() => rmSync(bin, { recursive: true, force: true }));
const url = 'http://127.0.0.1:1/?token=x';

describe.skipIf(process.platform !== 'linux')('browserOpener', () => {
  it('opens nothing without a desktop or a browser', () => {
    expect(browserOpener(url, { PATH: bin })).toBeUndefined();
    expect(browserOpener(url, { PATH: '/nonexistent', DISPLAY: ':0' })).toBeUndefined();
    expect(browserOpener(url, { PATH: bin, BROWSER: 'nosuchbrowser' })).toBeUndefined();
  });

  it('uses $BROWSER when it is on the PATH, else xdg-open on a desktop', () => {
    expect(browserOpener(url, { PATH: bin, BROWSER: 'mybrowser' })).toEqual(['mybrowser', url]);
    expect(browserOpener(url, { PATH: bin, DISPLAY: ':0' })).toEqual([join(bin, 'xdg-open'), url]);
    expect(browserOpener(url, { PATH: bin, WAYLAND_DISPLAY: 'wayland-0' })).toEqual([
      join(bin, 'xdg-open'),
      url,
    ]);
  });
});
