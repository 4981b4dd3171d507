// Copies the release synergy-ls binary into server/ for the platform .vsix. Build it first:
// `cargo build --release` at the repository root (or set SYNERGY_LS_BINARY).
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const exe = process.platform === 'win32' ? 'synergy-ls.exe' : 'synergy-ls';
const source = process.env.SYNERGY_LS_BINARY ?? resolve(here, '../../../target/release', exe);
if (!existsSync(source)) {
  console.error(`No server binary at ${source}: run \`cargo build --release\` at the repository root first.`);
  process.exit(1);
}
const target = resolve(here, '../server', exe);
mkdirSync(dirname(target), { recursive: true });
copyFileSync(source, target);
chmodSync(target, 0o755);
// The release profile keeps line tables for backtraces; users of the package do not need them.
try {
  execFileSync('strip', [target]);
} catch {
  console.warn('strip is not available; bundling the binary unstripped');
}
console.log(`bundled ${source} -> ${join('server', exe)} (${(statSync(target).size / 1e6).toFixed(1)} MB)`);
