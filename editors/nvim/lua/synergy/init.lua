-- Optional helpers for synergy-ls: :SynergyRefresh, :SynergyStatus, :SynergyFixAll and the `synergy/status`
-- notification (docs/lsp-extensions.md). Loaded by plugin/synergy.lua and lsp/synergy_ls.lua.
local M = {}

--- The last `synergy/status` params per client id.
M.status = {}

--- JSON `null` arrives as `vim.NIL`, which Lua treats as true: every field the server may send
--- as null (`server`, `lastCheck`, per docs/lsp-extensions.md) becomes nil here, once, so no
--- reader can mistake it for a value.
local function without_nulls(params)
  if type(params) ~= 'table' then
    return nil
  end
  local clean = {}
  for k, v in pairs(params) do
    if v ~= vim.NIL then
      clean[k] = v
    end
  end
  return clean
end

--- Called by the `synergy/status` handler in lsp/synergy_ls.lua.
function M.on_status(params, client_id)
  params = without_nulls(params)
  local previous = M.status[client_id]
  M.status[client_id] = params
  -- Say it once when something went wrong (the server also sends a showMessage).
  if params and previous and previous.state ~= params.state then
    vim.api.nvim_exec_autocmds('User', { pattern = 'SynergyStatus', data = params })
  end
end

--- The running synergy_ls clients (for the current buffer first, then any).
function M.clients()
  local clients = vim.lsp.get_clients({ name = 'synergy_ls', bufnr = 0 })
  if #clients == 0 then
    clients = vim.lsp.get_clients({ name = 'synergy_ls' })
  end
  return clients
end

--- Runs a synergy-ls command (`workspace/executeCommand`) on every running client; `on_result`
--- gets each answer. Failures are told as "synergy-ls: WHAT failed: …".
local function execute(command, what, on_result)
  local clients = M.clients()
  if #clients == 0 then
    vim.notify('synergy-ls is not running (is this a markdown/text buffer?)', vim.log.levels.WARN)
    return
  end
  for _, client in ipairs(clients) do
    client:request('workspace/executeCommand', { command = command, arguments = {} }, function(err, result)
      if err then
        vim.notify(('synergy-ls: %s failed: %s'):format(what, err.message), vim.log.levels.ERROR)
      elseif on_result then
        on_result(result)
      end
    end)
  end
end

--- Drops synergy-ls's cache and re-checks the open documents.
function M.refresh()
  execute('synergy.refresh', 'refresh')
end

--- Applies every safe fix in the workspace (files not open included): a case mismatch with one
--- match, a job seen renamed. The server sends the edit (`workspace/applyEdit`, applied to
--- buffers: `:wall` saves them) and says what it fixed; the result is kept in `M.last_fix`.
function M.fix_all()
  execute('synergy.fixWorkspace', 'fixing', function(result)
    M.last_fix = result
  end)
end

--- One line per client: the state, the server and what to do.
function M.status_lines()
  local lines = {}
  for _, client in ipairs(M.clients()) do
    local s = M.status[client.id]
    if s then
      local when = s.lastCheck and (', last check ' .. s.lastCheck) or ''
      local line = ('synergy-ls: %s (%s%s). %s'):format(s.state or '?', s.server or 'no server', when, s.message or '')
      table.insert(lines, line)
      if type(s.indexed) == 'table' then
        table.insert(lines, ('Workspace: %d job references in %d files.'):format(s.indexed.references, s.indexed.files))
      end
    else
      table.insert(lines, 'synergy-ls: running, no status received yet')
    end
  end
  if #lines == 0 then
    lines = { 'synergy-ls is not running' }
  end
  return lines
end

function M.show_status()
  local levels = { connected = vim.log.levels.INFO, idle = vim.log.levels.INFO }
  for _, client in ipairs(M.clients()) do
    local s = M.status[client.id]
    if s and not levels[s.state] then
      vim.notify(table.concat(M.status_lines(), '\n'), vim.log.levels.WARN)
      return
    end
  end
  vim.notify(table.concat(M.status_lines(), '\n'), vim.log.levels.INFO)
end

return M
