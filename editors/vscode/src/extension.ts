// The VS Code side of synergy-ls: finds the binary, hands it the token from SecretStorage in
// its environment, starts the language client (one code path: `restart`), and shows the
// server's `synergy/status` in the status bar. Pure logic lives in serverPath.ts, settings.ts
// and status.ts.
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { findServer, ServerNotFound } from './serverPath';
import { documentSelector, explicitSettings, serverEnvironment } from './settings';
import { type Fix, notice, present, type StatusParams } from './status';

const TOKEN_KEY = 'synergy.personalAccessToken';
/** Settings that only take effect when the server is started again. */
const RESTART_SETTINGS = ['synergy.server.path', 'synergy.languages', 'synergy.logLevel'];

/** The names (after `synergy.`) of the settings this extension contributes, from its manifest. */
function serverSettingKeys(): string[] {
  const properties = context.extension.packageJSON?.contributes?.configuration?.properties ?? {};
  return Object.keys(properties)
    .filter((k) => k.startsWith('synergy.'))
    .map((k) => k.slice('synergy.'.length));
}

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let lastStatus: StatusParams | undefined;
/** The state the user was last told about (kept across restarts, so a restart does not repeat it). */
let toldState: string | undefined;
let context: vscode.ExtensionContext;
let starting: Promise<void> = Promise.resolve();

export async function activate(ctx: vscode.ExtensionContext): Promise<void> {
  context = ctx;
  output = vscode.window.createOutputChannel('12d Synergy', { log: false } as never);
  statusItem = vscode.window.createStatusBarItem('synergy.status', vscode.StatusBarAlignment.Left, 10);
  statusItem.name = '12d Synergy';
  statusItem.command = 'synergy.showStatus';
  ctx.subscriptions.push(output, statusItem);
  showStatus(undefined);

  ctx.subscriptions.push(
    vscode.commands.registerCommand('synergy.setToken', setToken),
    vscode.commands.registerCommand('synergy.clearToken', clearToken),
    vscode.commands.registerCommand('synergy.restartServer', () => restart()),
    vscode.commands.registerCommand('synergy.refreshCache', refreshCache),
    vscode.commands.registerCommand('synergy.fixAllInWorkspace', fixAllInWorkspace),
    vscode.commands.registerCommand('synergy.showLogs', () => output.show(true)),
    vscode.commands.registerCommand('synergy.showStatus', showStatusDetails),
    ctx.secrets.onDidChange((e) => {
      if (e.key === TOKEN_KEY) void restart();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) void restart();
    }),
  );

  await restart();
}

export async function deactivate(): Promise<void> {
  await stopClient();
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop(2000);
    } catch (e) {
      output.appendLine(`stopping synergy-ls: ${(e as Error).message}`);
    }
  }
}

/** Stops the running client, if any, and starts a new one: the only place a client starts. */
function restart(): Promise<void> {
  starting = starting.then(startClient, startClient);
  return starting;
}

async function startClient(): Promise<void> {
  await stopClient();
  lastStatus = undefined;
  showStatus(undefined);
  const config = vscode.workspace.getConfiguration('synergy');
  let server;
  try {
    server = await findServer({
      env: process.env,
      setting: config.get<string>('server.path'),
      extensionPath: context.extensionPath,
      platform: process.platform,
    });
  } catch (e) {
    const message = e instanceof ServerNotFound ? e.message : String(e);
    output.appendLine(message);
    statusItem.text = '$(error) Synergy: no server';
    statusItem.tooltip = message;
    const open = 'Open Settings';
    void vscode.window.showErrorMessage(`12d Synergy: ${message}`, open).then((choice) => {
      if (choice === open) void vscode.commands.executeCommand('workbench.action.openSettings', 'synergy.server.path');
    });
    return;
  }
  output.appendLine(`Using ${server.version} at ${server.path} (from ${server.source}).`);

  const token = await context.secrets.get(TOKEN_KEY);
  const env = serverEnvironment({ base: process.env, token, logLevel: config.get<string>('logLevel') });
  // TransportKind.stdio passes `--stdio` itself.
  const run = { command: server.path, transport: TransportKind.stdio, options: { env } };
  const serverOptions: ServerOptions = { run, debug: run };
  const clientOptions: LanguageClientOptions = {
    documentSelector: documentSelector(config.get('languages')),
    outputChannel: output,
    // Settings reach the server through workspace/configuration; no initializationOptions, so
    // nothing secret can appear in a trace.
    synchronize: { configurationSection: 'synergy' },
    middleware: {
      workspace: {
        // Only what the user set, for each folder the server asks about (`scopeUri`): VS Code
        // would also send every default, which would hide the folder's `.synergy.toml`.
        configuration: (params, token, next) => {
          if (params.items.some((item) => item.section !== 'synergy')) return next(params, token);
          return params.items.map((item) => {
            const scope = item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined;
            const config = vscode.workspace.getConfiguration('synergy', scope);
            return explicitSettings(serverSettingKeys(), (key) => config.inspect(key));
          });
        },
        // A change is announced without values (`settings: null`), so the server asks again
        // for each folder's, rather than taking the whole workspace's for every folder.
        didChangeConfiguration: (_sections, next) => next(undefined),
      },
    },
  };
  const next = new LanguageClient('synergy', '12d Synergy', serverOptions, clientOptions);
  // Tell the server this client renders synergy/status (and its notifications) itself.
  next.registerFeature({
    fillClientCapabilities(capabilities) {
      capabilities.experimental = { ...(capabilities.experimental ?? {}), synergyStatus: true };
    },
    initialize() {},
    getState: () => ({ kind: 'static' }),
    clear() {},
  });
  next.onNotification('synergy/status', (params: StatusParams) => {
    lastStatus = params;
    showStatus(params);
    const n = notice(params, toldState);
    if (params.state !== 'idle') toldState = params.state;
    if (n) void tell(n.level, n.text, n.fix);
  });
  client = next;
  try {
    await next.start();
  } catch (e) {
    output.appendLine(`synergy-ls did not start: ${(e as Error).message}`);
    statusItem.text = '$(error) Synergy: failed';
    void vscode.window.showErrorMessage(`12d Synergy: the server did not start. See 12d Synergy: Show Logs.`);
  }
}

function showStatus(params: StatusParams | undefined): void {
  const p = present(params);
  statusItem.text = p.text;
  statusItem.tooltip = p.tooltip;
  statusItem.backgroundColor = p.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  statusItem.show();
}

const FIX_ACTIONS: Record<NonNullable<Fix>, [string, () => unknown]> = {
  setToken: ['Set Token', () => setToken()],
  openSettings: ['Open Settings', () => vscode.commands.executeCommand('workbench.action.openSettings', 'synergy')],
  showLogs: ['Show Logs', () => output.show(true)],
};

async function tell(level: 'info' | 'warning' | 'error', text: string, fix: Fix): Promise<void> {
  const show = {
    info: vscode.window.showInformationMessage,
    warning: vscode.window.showWarningMessage,
    error: vscode.window.showErrorMessage,
  }[level];
  const action = fix ? FIX_ACTIONS[fix] : undefined;
  const choice = await (action ? show(text, action[0]) : show(text));
  if (action && choice === action[0]) await action[1]();
}

async function showStatusDetails(): Promise<void> {
  const p = present(lastStatus);
  const actions: Record<string, () => unknown> = {};
  if (p.fix) actions[FIX_ACTIONS[p.fix][0]] = FIX_ACTIONS[p.fix][1];
  actions['Show Logs'] = () => output.show(true);
  actions['Restart Server'] = () => restart();
  const show = p.warning ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const choice = await show(p.tooltip, ...Object.keys(actions));
  if (choice) await actions[choice]();
}

async function setToken(): Promise<void> {
  const token = await vscode.window.showInputBox({
    title: '12d Synergy: Personal Access Token',
    prompt: 'Create one in 12d Synergy Web › Profile › Personal Access Tokens. It is kept in VS Code\'s secret storage.',
    password: true,
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'The token is empty' : undefined),
  });
  if (token === undefined) return;
  await context.secrets.store(TOKEN_KEY, token.trim());
  // onDidChange restarts the server; say so without echoing anything.
  void vscode.window.showInformationMessage('12d Synergy: token saved; synergy-ls restarts with it.');
}

async function clearToken(): Promise<void> {
  await context.secrets.delete(TOKEN_KEY);
  void vscode.window.showInformationMessage('12d Synergy: token removed from secret storage.');
}

/**
 * Every safe fix in the workspace, files not open included: the server sends one
 * `workspace/applyEdit` (one undo) and says what it fixed. The server's own command
 * (`synergy.fixWorkspace`) is registered by the language client; this is the palette's name for it.
 */
async function fixAllInWorkspace(): Promise<void> {
  if (!client?.isRunning()) {
    void vscode.window.showWarningMessage('12d Synergy: synergy-ls is not running.');
    return;
  }
  await client.sendRequest(ExecuteCommandRequest.type, { command: 'synergy.fixWorkspace', arguments: [] });
}

async function refreshCache(): Promise<void> {
  if (!client?.isRunning()) {
    void vscode.window.showWarningMessage('12d Synergy: synergy-ls is not running.');
    return;
  }
  await client.sendRequest(ExecuteCommandRequest.type, { command: 'synergy.refresh', arguments: [] });
}
