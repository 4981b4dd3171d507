// The status bar item's look for each `synergy/status` state (docs/lsp-extensions.md).
// No `vscode` import, so this is unit-tested under plain Node.

export interface StatusParams {
  state: string;
  server: string | null;
  message: string;
  lastCheck: string | null;
  /** What the workspace index holds, once it is built. */
  indexed?: { files: number; references: number };
}

export type Fix = 'setToken' | 'openSettings' | 'showLogs' | undefined;

export interface Presentation {
  text: string;
  tooltip: string;
  /** The action offered when the user clicks the item. */
  fix: Fix;
  warning: boolean;
}

export function present(s: StatusParams | undefined): Presentation {
  if (!s) return { text: '$(sync~spin) Synergy', tooltip: 'synergy-ls is starting', fix: undefined, warning: false };
  const where = s.server ? ` (${s.server})` : '';
  const when = s.lastCheck ? `\nLast check: ${s.lastCheck}` : '';
  const count = (n: number) => n.toLocaleString('en-US');
  const indexed = s.indexed
    ? `\nWorkspace: ${count(s.indexed.references)} job references in ${count(s.indexed.files)} files`
    : '';
  const tooltip = `12d Synergy${where}: ${s.message}${when}${indexed}`;
  switch (s.state) {
    case 'connected':
      return { text: '$(check) Synergy', tooltip, fix: undefined, warning: false };
    case 'idle':
      return { text: '$(circle-outline) Synergy', tooltip, fix: undefined, warning: false };
    case 'offline':
      return { text: '$(debug-disconnect) Synergy: offline', tooltip, fix: 'showLogs', warning: true };
    case 'tokenRejected':
      return { text: '$(key) Synergy: token rejected', tooltip, fix: 'setToken', warning: true };
    case 'notConfigured': {
      const tokenMissing = /Personal Access Token/.test(s.message);
      return {
        text: '$(gear) Synergy: not configured',
        tooltip,
        fix: tokenMissing ? 'setToken' : 'openSettings',
        warning: true,
      };
    }
    default:
      return { text: `$(question) Synergy: ${s.state}`, tooltip, fix: 'showLogs', warning: true };
  }
}

export interface Notice {
  level: 'info' | 'warning' | 'error';
  text: string;
  /** The button offered with it. */
  fix: Fix;
}

/**
 * The notification for entering a state, told once per change (the server leaves this to the
 * extension, which declares `experimental.synergyStatus`). `previous` is the state last told.
 */
export function notice(s: StatusParams, previous: string | undefined): Notice | undefined {
  if (s.state === previous) return undefined;
  const p = present(s);
  switch (s.state) {
    case 'connected':
      return previous && previous !== 'idle'
        ? { level: 'info', text: `12d Synergy: connected to ${s.server ?? 'the server'}; job references are checked again.`, fix: undefined }
        : undefined;
    case 'idle':
      return undefined;
    case 'notConfigured':
      return p.fix === 'setToken'
        ? { level: 'warning', text: '12d Synergy: no Personal Access Token is set, so job references are not checked.', fix: 'setToken' }
        : { level: 'warning', text: `12d Synergy: ${s.message}`, fix: 'openSettings' };
    case 'tokenRejected':
      return { level: 'error', text: `12d Synergy: ${s.message}`, fix: 'setToken' };
    default:
      return { level: 'warning', text: `12d Synergy: ${s.message} No reference is reported unknown meanwhile.`, fix: 'showLogs' };
  }
}
