// Puts the synergy-ls binary for one VS Code platform into server/, for a platform .vsix.
//
//   node scripts/bundle-server.mjs <target> [binary]
//
// <target> is a VS Code platform (`vsce package --target`): linux-x64, linux-arm64, win32-x64,
// win32-arm64, darwin-x64, darwin-arm64. The file is named for the target, not for the machine
// that packages it: `server/synergy-ls.exe` for win32-*, `server/synergy-ls` otherwise, which
// is where src/serverPath.ts looks. [binary] (or SYNERGY_LS_BINARY) is the file to bundle;
// by default the Cargo output for the target's Rust triple (`target/release` for linux-x64,
// `target/windows/x86_64-pc-windows-gnu/release` for win32-x64, as scripts/windows builds it).
// server/ is emptied first, so no other target's binary rides along.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');

/** VS Code platform -> [Rust target triple, the default binary, the strip program]. */
export const TARGETS = {
  'linux-x64': ['x86_64-unknown-linux-gnu', 'target/release/synergy-ls', 'strip'],
  'linux-arm64': ['aarch64-unknown-linux-gnu', 'target/aarch64-unknown-linux-gnu/release/synergy-ls', 'aarch64-linux-gnu-strip'],
  'win32-x64': ['x86_64-pc-windows-gnu', 'target/windows/x86_64-pc-windows-gnu/release/synergy-ls.exe', 'x86_64-w64-mingw32-strip'],
  'win32-arm64': ['aarch64-pc-windows-msvc', 'target/aarch64-pc-windows-msvc/release/synergy-ls.exe', null],
  'darwin-x64': ['x86_64-apple-darwin', 'target/x86_64-apple-darwin/release/synergy-ls', null],
  'darwin-arm64': ['aarch64-apple-darwin', 'target/aarch64-apple-darwin/release/synergy-ls', null],
};

/** The file name the extension looks for on `target` (src/serverPath.ts `exeName`). */
export function exeName(target) {
  return target.startsWith('win32-') ? 'synergy-ls.exe' : 'synergy-ls';
}

/** The default binary for `target`, an absolute path. */
export function defaultBinary(target) {
  return resolve(repo, TARGETS[target][1]);
}

/** Copies `source` into server/ as the binary for `target`, stripped when a strip program for
 * the target is on PATH. Throws when the target is unknown or the binary is missing. */
export function bundle(target, source = defaultBinary(target)) {
  if (!(target in TARGETS)) {
    throw new Error(`unknown target ${target}: one of ${Object.keys(TARGETS).join(', ')}`);
  }
  if (!existsSync(source)) {
    throw new Error(`No ${target} server binary at ${source}: build it first (\`cargo build --release\`, or scripts/windows for win32-x64).`);
  }
  const server = resolve(here, '../server');
  rmSync(server, { recursive: true, force: true });
  mkdirSync(server, { recursive: true });
  const dest = join(server, exeName(target));
  copyFileSync(source, dest);
  chmodSync(dest, 0o755);
  // The release profile keeps line tables for backtraces; users of the package do not need them.
  const strip = TARGETS[target][2];
  try {
    if (strip) execFileSync(strip, [dest], { stdio: 'ignore' });
  } catch {
    console.warn(`${strip} is not available; bundling the ${target} binary unstripped`);
  }
  console.log(`bundled ${source} -> ${join('server', exeName(target))} (${(statSync(dest).size / 1e6).toFixed(1)} MB)`);
  return dest;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [target, binary] = process.argv.slice(2);
  if (!target) {
    console.error(`usage: bundle-server.mjs <target> [binary]; targets: ${Object.keys(TARGETS).join(', ')}`);
    process.exit(2);
  }
  try {
    bundle(target, binary ?? process.env.SYNERGY_LS_BINARY ?? defaultBinary(target));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
