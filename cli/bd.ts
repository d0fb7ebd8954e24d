#!/usr/bin/env node
process.stderr.write('bd: not yet available in this build\n');
process.exitCode = 1;
