// `npm run package`: the extension's .vsix files, as rust-analyzer ships them.
//
//   node scripts/package.mjs [target[=binary]...]
//
// For each VS Code platform target, a package with that platform's server inside
// (synergy-ls-<target>.vsix), and always one universal package without a server
// (synergy-ls-universal.vsix), which uses `synergy.server.path` or synergy-ls on PATH.
// With no targets: linux-x64, and win32-x64 when its binary has been built (scripts/windows);
// a target named on the command line whose binary is missing is an error. `target=binary`
// bundles that file instead of the target's default (bundle-server.mjs `defaultBinary`).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, defaultBinary } from './bundle-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ext = resolve(here, '..');
const vsce = resolve(ext, 'node_modules/.bin/vsce');

let targets = process.argv.slice(2);
if (targets.length === 0) {
  targets = ['linux-x64'];
  if (existsSync(defaultBinary('win32-x64'))) targets.push('win32-x64');
  else console.warn(`skipping win32-x64: no Windows binary at ${defaultBinary('win32-x64')} (scripts/windows builds it)`);
}

const run = (args) => execFileSync(vsce, args, { cwd: ext, stdio: ['ignore', 'inherit', 'inherit'] });
try {
  for (const arg of targets) {
    const [target, binary] = arg.split(/=(.*)/s);
    bundle(target, binary || defaultBinary(target));
    run(['package', '--target', target, '--out', `synergy-ls-${target}.vsix`]);
  }
  rmSync(resolve(ext, 'server'), { recursive: true, force: true });
  run(['package', '--out', 'synergy-ls-universal.vsix']);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
