// Finding the synergy-ls binary: SYNERGY_LS_PATH, then the `synergy.server.path` setting, then
// the binary bundled in the extension, then PATH. The choice is checked with `--version`; an
// explicit choice (environment or setting) that does not work is an error, never skipped.
// No `vscode` import, so this is unit-tested under plain Node.
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Where the release archives are (the repository's releases page; package.json `repository`). */
export const RELEASES = 'https://example.invalid/synergy-ls/releases/latest';

export type Source = 'SYNERGY_LS_PATH' | 'synergy.server.path' | 'bundled' | 'PATH';

export interface Candidate {
  path: string;
  source: Source;
  /** Set by the user: when it fails, say so rather than try the next one. */
  explicit: boolean;
}

export interface LookupInput {
  env: Record<string, string | undefined>;
  setting: string | undefined;
  extensionPath: string;
  platform: NodeJS.Platform;
}

export interface Found {
  path: string;
  source: Source;
  version: string;
}

export function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || p.startsWith('~\\')) return join(home, p.slice(2));
  return p;
}

export function exeName(platform: NodeJS.Platform): string {
  return platform === 'win32' ? 'synergy-ls.exe' : 'synergy-ls';
}

/** The places to look, in order. */
export function candidates(input: LookupInput): Candidate[] {
  const out: Candidate[] = [];
  const fromEnv = input.env.SYNERGY_LS_PATH?.trim();
  if (fromEnv) out.push({ path: expandHome(fromEnv), source: 'SYNERGY_LS_PATH', explicit: true });
  const fromSetting = input.setting?.trim();
  if (fromSetting) out.push({ path: expandHome(fromSetting), source: 'synergy.server.path', explicit: true });
  const exe = exeName(input.platform);
  out.push({ path: join(input.extensionPath, 'server', exe), source: 'bundled', explicit: false });
  const pathVar = input.env.PATH ?? input.env.Path ?? '';
  for (const dir of pathVar.split(delimiter).filter(Boolean)) {
    out.push({ path: join(dir, exe), source: 'PATH', explicit: false });
  }
  return out;
}

function isExecutableFile(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `<path> --version`; resolves to its first line, e.g. `synergy-ls 0.1.0`. */
export function probeVersion(path: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['--version'], { timeout: timeoutMs }, (err, stdout) => {
      const line = String(stdout).split('\n')[0].trim();
      if (err) reject(new Error(`\`${path} --version\` failed: ${err.message}`));
      else if (!line.startsWith('synergy-ls')) reject(new Error(`\`${path} --version\` printed "${line}", not synergy-ls`));
      else resolve(line);
    });
  });
}

export class ServerNotFound extends Error {}

/** The first working candidate; an explicit one that fails stops the search with its reason. */
export async function findServer(input: LookupInput, probe = probeVersion): Promise<Found> {
  for (const c of candidates(input)) {
    if (!isExecutableFile(c.path)) {
      if (c.explicit) {
        throw new ServerNotFound(`${c.source} points at ${c.path}, which is not an executable file.`);
      }
      continue;
    }
    try {
      return { path: c.path, source: c.source, version: await probe(c.path) };
    } catch (e) {
      if (c.explicit) throw new ServerNotFound(`${c.source}: ${(e as Error).message}`);
    }
  }
  throw new ServerNotFound(
    'synergy-ls was not found: it is not bundled with this extension (the universal package) and ' +
      `not on PATH. Download it for your platform from ${RELEASES}, put it on PATH or set ` +
      '`synergy.server.path`; or install the extension package for your platform, which bundles it.',
  );
}
