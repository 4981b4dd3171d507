// Settings -> the server's environment and document selector; the status bar presentation.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { documentSelector, explicitSettings, serverEnvironment } from '../src/settings';
import { notice, present } from '../src/status';

test('the token travels only in SYNERGY_TOKEN', () => {
  const env = serverEnvironment({ base: { PATH: '/bin', HOME: '/h', EMPTY: undefined }, token: ' tok-SECRET-1 ', logLevel: 'debug' });
  assert.equal(env.SYNERGY_TOKEN, 'tok-SECRET-1');
  assert.equal(env.PATH, '/bin');
  assert.ok(!('EMPTY' in env));
  assert.equal(env.SYNERGY_LOG, 'synergy_ls=debug');
  const elsewhere = Object.entries(env).filter(([k, v]) => k !== 'SYNERGY_TOKEN' && v.includes('tok-SECRET-1'));
  assert.deepEqual(elsewhere, []);
});

test('without a stored token the inherited SYNERGY_TOKEN is kept; bad log levels fall back', () => {
  const env = serverEnvironment({ base: { SYNERGY_TOKEN: 'from-shell' }, token: undefined, logLevel: 'loud' });
  assert.equal(env.SYNERGY_TOKEN, 'from-shell');
  assert.equal(env.SYNERGY_LOG, 'synergy_ls=warn');
  assert.equal(serverEnvironment({ base: {}, token: '  ', logLevel: undefined }).SYNERGY_TOKEN, undefined);
});

test('each problem is told once, with its fix; recovery is told only after a problem', () => {
  const s = (state: string, message = 'The 12d Synergy server is unreachable (connection refused).') =>
    ({ state, server: 'syn.example', message, lastCheck: null });
  const noToken = s('notConfigured', 'No Personal Access Token is set: set `SYNERGY_TOKEN` …');
  assert.deepEqual(notice(noToken, undefined), {
    level: 'warning', text: '12d Synergy: no Personal Access Token is set, so job references are not checked.', fix: 'setToken',
  });
  assert.equal(notice(noToken, 'notConfigured'), undefined, 'not twice');
  assert.equal(notice(s('tokenRejected'), 'connected')?.fix, 'setToken');
  assert.equal(notice(s('tokenRejected'), 'connected')?.level, 'error');
  assert.match(notice(s('offline'), 'connected')?.text ?? '', /unreachable.*No reference is reported unknown/);
  assert.equal(notice(s('connected'), undefined), undefined, 'connecting at start is not news');
  assert.equal(notice(s('connected'), 'idle'), undefined);
  assert.match(notice(s('connected'), 'offline')?.text ?? '', /connected to syn\.example/);
  assert.equal(notice(s('idle'), 'offline'), undefined);
});

test('document selector: the documents by name, plus the languages setting', () => {
  const defaults = documentSelector(undefined);
  assert.deepEqual(defaults[0], { scheme: 'file', pattern: '**/*.{md,markdown,mdx,txt,rst,adoc,asciidoc}' });
  assert.deepEqual(
    defaults.slice(1).map((f) => f.language),
    ['markdown', 'mdx', 'restructuredtext', 'asciidoc'],
  );
  assert.ok(!defaults.some((f) => f.language === 'plaintext'), 'not every unknown file');
  assert.deepEqual(documentSelector(['yaml', 'yaml']).slice(-2), [
    { scheme: 'file', language: 'yaml' },
    { scheme: 'untitled', language: 'yaml' },
  ]);
  assert.equal(documentSelector([42, '']).length, defaults.length, 'garbage adds nothing');
});

test('status bar text and fix per state', () => {
  const s = (state: string, message = 'm') => present({ state, server: 'syn.example', message, lastCheck: '2026-11-27T22:00:00Z' });
  assert.equal(s('connected').text, '$(check) Synergy');
  assert.match(s('connected').tooltip, /syn\.example.*\n.*2026-11-27T22:00:00Z/s);
  assert.deepEqual([s('offline').text, s('offline').fix], ['$(debug-disconnect) Synergy: offline', 'showLogs']);
  assert.deepEqual([s('tokenRejected').fix, s('tokenRejected').warning], ['setToken', true]);
  assert.equal(s('notConfigured', 'No Personal Access Token is set: …').fix, 'setToken');
  assert.equal(s('notConfigured', 'No 12d Synergy server is configured').fix, 'openSettings');
  assert.equal(present(undefined).text, '$(sync~spin) Synergy');
  // The first states a user is in: `server` and `lastCheck` are null (docs/lsp-extensions.md).
  for (const message of ['No 12d Synergy server is configured: set `SYNERGY_URL`.', 'No Personal Access Token is set.']) {
    const p = present({ state: 'notConfigured', server: null, message, lastCheck: null });
    assert.equal(p.tooltip, `12d Synergy: ${message}`, 'no "null" shown');
    assert.equal(p.text, '$(gear) Synergy: not configured');
  }
  // Once the workspace is indexed, the tooltip says how much.
  const indexed = present({ state: 'connected', server: null, message: 'Connected.', lastCheck: null, indexed: { files: 10000, references: 48695 } });
  assert.equal(indexed.tooltip, '12d Synergy: Connected.\nWorkspace: 48,695 job references in 10,000 files');
});

test('only the settings the user set reach the server, the most specific first', () => {
  const seen: Record<string, { globalValue?: unknown; workspaceValue?: unknown; workspaceFolderValue?: unknown }> = {
    serverUrl: {},
    'diagnostics.severity.unknownJob': { globalValue: 'error', workspaceFolderValue: 'hint' },
    'diagnostics.severity.caseMismatch': { workspaceValue: 'off' },
    'diagnostics.debounceMs': { globalValue: 0 },
    'cache.persist': { workspaceValue: false, globalValue: true },
    webUrlTemplate: { globalValue: null },
  };
  const keys = [...Object.keys(seen), 'workspace.enabled'];
  assert.deepEqual(explicitSettings(keys, (k) => seen[k]), {
    diagnostics: { severity: { unknownJob: 'hint', caseMismatch: 'off' }, debounceMs: 0 },
    cache: { persist: false },
    webUrlTemplate: null,
  });
  assert.deepEqual(explicitSettings(keys, () => undefined), {}, 'nothing set: nothing sent, defaults stay the server\'s');
});
