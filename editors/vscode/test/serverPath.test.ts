// Binary lookup: order, `~` expansion, explicit choices that fail, and the --version check,
// with real executables in a temporary folder.
import { strict as assert } from 'node:assert';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { candidates, expandHome, findServer, RELEASES, ServerNotFound } from '../src/serverPath';

function fakeServer(dir: string, versionLine: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'synergy-ls');
  writeFileSync(path, `#!/bin/sh\necho '${versionLine}'\n`);
  chmodSync(path, 0o755);
  return path;
}

test('candidates come in the documented order', () => {
  const list = candidates({
    env: { SYNERGY_LS_PATH: '/env/synergy-ls', PATH: ['/a', '/b'].join(delimiter) },
    setting: '~/bin/synergy-ls',
    extensionPath: '/ext',
    platform: 'linux',
  });
  assert.deepEqual(
    list.map((c) => [c.source, c.explicit]),
    [
      ['SYNERGY_LS_PATH', true],
      ['synergy.server.path', true],
      ['bundled', false],
      ['PATH', false],
      ['PATH', false],
    ],
  );
  assert.equal(list[2].path, join('/ext', 'server', 'synergy-ls'));
  assert.equal(list[1].path, expandHome('~/bin/synergy-ls'));
  assert.ok(!list[1].path.startsWith('~'));
  assert.equal(candidates({ env: {}, setting: '', extensionPath: '/e', platform: 'win32' })[0].path, join('/e', 'server', 'synergy-ls.exe'));
});

test('the bundled binary wins over PATH; PATH is the fallback', async () => {
  const root = mkdtempSync(join(tmpdir(), 'synergy-lookup-'));
  const onPath = fakeServer(join(root, 'path-bin'), 'synergy-ls 0.0.1');
  const input = { env: { PATH: join(root, 'path-bin') }, setting: '', extensionPath: join(root, 'ext'), platform: 'linux' as const };
  let found = await findServer(input);
  assert.deepEqual([found.path, found.source, found.version], [onPath, 'PATH', 'synergy-ls 0.0.1']);
  const bundled = fakeServer(join(root, 'ext', 'server'), 'synergy-ls 0.1.0');
  found = await findServer(input);
  assert.deepEqual([found.path, found.source], [bundled, 'bundled']);
});

test('an explicit path that is wrong is an error, not skipped', async () => {
  const root = mkdtempSync(join(tmpdir(), 'synergy-lookup-'));
  fakeServer(join(root, 'ext', 'server'), 'synergy-ls 0.1.0');
  const base = { env: {}, extensionPath: join(root, 'ext'), platform: 'linux' as const };
  await assert.rejects(findServer({ ...base, setting: join(root, 'missing') }), (e: Error) => {
    assert.ok(e instanceof ServerNotFound);
    assert.match(e.message, /synergy\.server\.path points at .*missing, which is not an executable file/);
    return true;
  });
  const impostor = fakeServer(join(root, 'other'), 'ripgrep 13.0.0');
  await assert.rejects(findServer({ ...base, setting: impostor, env: {} }), /printed "ripgrep 13.0.0", not synergy-ls/);
  const viaEnv = fakeServer(join(root, 'env'), 'synergy-ls 9.9.9');
  const found = await findServer({ ...base, setting: impostor, env: { SYNERGY_LS_PATH: viaEnv } });
  assert.equal(found.source, 'SYNERGY_LS_PATH');
});

test('nothing anywhere gives an actionable message', async () => {
  const root = mkdtempSync(join(tmpdir(), 'synergy-lookup-'));
  await assert.rejects(
    findServer({ env: { PATH: root }, setting: undefined, extensionPath: root, platform: 'linux' }),
    (e: Error) => {
      assert.ok(e instanceof ServerNotFound);
      assert.match(e.message, /not bundled with this extension .*not on PATH.*synergy\.server\.path/);
      // The release downloads, not a source build (most users have no Rust toolchain).
      assert.ok(e.message.includes(RELEASES), e.message);
      assert.doesNotMatch(e.message, /cargo install/);
      return true;
    },
  );
});
