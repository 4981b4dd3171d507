// What the extension hands the server: the process environment (the token travels only here,
// as SYNERGY_TOKEN, never in settings or initializationOptions, which VS Code logs when tracing)
// and the document selector. No `vscode` import, so this is unit-tested under plain Node.

// The documents synergy-ls checks: the server's one list (`scan::DOCUMENT_EXTENSIONS`;
// tests/editor_manifests.rs fails when this drifts from it). Selected by file name, not by
// language id: VS Code calls every file of an unknown type `plaintext`.
export const DOCUMENT_EXTENSIONS = ['md', 'markdown', 'mdx', 'txt', 'rst', 'adoc', 'asciidoc'];
// Untitled documents have no name: these languages stand for the documents there.
export const UNTITLED_LANGUAGES = ['markdown', 'mdx', 'restructuredtext', 'asciidoc'];
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'];

export interface ServerEnvInput {
  base: Record<string, string | undefined>;
  /** From SecretStorage; undefined keeps whatever SYNERGY_TOKEN the editor was started with. */
  token: string | undefined;
  logLevel: string | undefined;
}

export function serverEnvironment(input: ServerEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(input.base)) {
    if (v !== undefined) env[k] = v;
  }
  if (input.token && input.token.trim()) env.SYNERGY_TOKEN = input.token.trim();
  const level = input.logLevel && LOG_LEVELS.includes(input.logLevel) ? input.logLevel : 'warn';
  // The server's own crates only: dependencies at `trace` would log request headers.
  env.SYNERGY_LOG = `synergy_ls=${level}`;
  return env;
}

export interface DocumentFilter {
  scheme: string;
  language?: string;
  pattern?: string;
}

// The documents, and the documents of each extra language in `synergy.languages` (whose
// files the server checks in their comments).
export function documentSelector(languages: unknown): DocumentFilter[] {
  const extra = Array.isArray(languages) ? languages.filter((l): l is string => typeof l === 'string' && l !== '') : [];
  const documents: DocumentFilter[] = [
    { scheme: 'file', pattern: `**/*.{${DOCUMENT_EXTENSIONS.join(',')}}` },
    ...UNTITLED_LANGUAGES.map((language) => ({ scheme: 'untitled', language })),
  ];
  return documents.concat(
    [...new Set(extra)].flatMap((language) => [
      { scheme: 'file', language },
      { scheme: 'untitled', language },
    ]),
  );
}

/** What VS Code's `WorkspaceConfiguration.inspect` says of one setting (the parts used here). */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

// The settings the user set (in the user, workspace or folder settings; the most specific
// wins, as VS Code's own answer would), as the nested object the server reads. VS Code's own
// answer to `workspace/configuration` carries every setting's default too, and the editor's
// layer is above `.synergy.toml`: a default `serverUrl: null` or `unknownJob: "warning"`
// would hide the folder's file. `keys` are the settings' names after `synergy.`.
export function explicitSettings(keys: string[], inspect: (key: string) => Inspected | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const seen = inspect(key);
    const value = seen?.workspaceFolderValue ?? seen?.workspaceValue ?? seen?.globalValue;
    if (value === undefined) continue;
    const path = key.split('.');
    let node = out;
    for (const part of path.slice(0, -1)) {
      const next = node[part];
      node = (typeof next === 'object' && next !== null ? next : (node[part] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return out;
}
