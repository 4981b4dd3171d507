-- :checkhealth synergy: the binary, the server URL, whether a token is set (never its value),
-- and whether the server answers (one request through `synergy-ls status`).
local M = {}

local function config()
  local ok, cfg = pcall(function()
    return vim.lsp.config.synergy_ls
  end)
  return ok and cfg or {}
end

function M.check()
  local health = vim.health
  local cfg = config()
  local settings = (cfg.settings or {}).synergy or {}

  health.start('synergy-ls binary')
  local cmd = (cfg.cmd and cfg.cmd[1]) or vim.env.SYNERGY_LS_PATH or 'synergy-ls'
  local exe = vim.fn.exepath(cmd)
  if exe == '' then
    health.error(('`%s` was not found'):format(cmd), {
      'Install it: the release archive for your platform (put synergy-ls, or synergy-ls.exe, on PATH), or `cargo install --path .` in the synergy-ls repository',
      'or set SYNERGY_LS_PATH, or `vim.lsp.config("synergy_ls", { cmd = { "/path/to/synergy-ls" } })`',
    })
    return
  end
  local version = vim.system({ exe, '--version' }, { text = true }):wait(5000)
  if version.code ~= 0 then
    health.error(('`%s --version` failed: %s'):format(exe, vim.trim(version.stderr or '')))
    return
  end
  health.ok(('%s (%s)'):format(vim.trim(version.stdout), exe))

  health.start('synergy-ls settings')
  local url = settings.serverUrl or vim.env.SYNERGY_URL
  if url and url ~= '' then
    health.ok('server: ' .. url)
  else
    health.error('no server URL', { 'export SYNERGY_URL=https://synergy.example.com, or settings.synergy.serverUrl' })
  end
  local token_command = settings.tokenCommand or vim.env.SYNERGY_TOKEN_COMMAND
  if vim.env.SYNERGY_TOKEN and vim.env.SYNERGY_TOKEN ~= '' then
    health.ok('token: set in SYNERGY_TOKEN (not shown)')
  elseif token_command and token_command ~= '' then
    health.ok('token: from tokenCommand `' .. token_command .. '`')
  else
    health.error('no Personal Access Token', {
      'export SYNERGY_TOKEN before starting Neovim,',
      'or settings.synergy.tokenCommand = "pass show synergy"',
    })
  end

  health.start('synergy-ls server')
  local args = { exe, 'status' }
  if url and url ~= '' then
    vim.list_extend(args, { '--server-url', url })
  end
  local env = nil
  if token_command and token_command ~= '' then
    env = { SYNERGY_TOKEN_COMMAND = token_command }
  end
  local result = vim.system(args, { text = true, env = env }):wait(20000)
  local said = vim.trim((result.stdout or '') .. (result.stderr or ''))
  if result.code == 0 then
    health.ok(said)
  else
    health.error(said ~= '' and said or ('`synergy-ls status` exited with ' .. tostring(result.code)))
  end
  for _, line in ipairs(require('synergy').status_lines()) do
    health.info(line)
  end
end

return M
