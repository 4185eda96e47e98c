#!/usr/bin/env node
// `npx herald …`: runs the compiled CLI. A fresh clone has no dist/ until its first build.
'use strict';

const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'herald.js');
if (!existsSync(entry)) {
  process.stderr.write('herald: the CLI is not built yet; run `npm run build` first\n');
  process.exit(1);
}
require(entry).main(process.argv.slice(2));
