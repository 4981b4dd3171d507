-- The first state a new user is in, in real headless Neovim (run by run.sh twice: without a
-- server URL, and with a URL but no token): synergy_ls attaches, `synergy/status` says
-- notConfigured (with `server` and `lastCheck` null, which Neovim turns into vim.NIL), and
-- :SynergyStatus and :checkhealth synergy work and say what to do, without a Lua error.
local mode = vim.env.E2E_MODE -- 'no-url' | 'no-token'
local failures = 0
local function check(ok, what, detail)
  local path = vim.env.SYNERGY_EDITOR_RESULTS
  if path and path ~= '' then
    local f = assert(io.open(path, 'a'))
    f:write(vim.json.encode({ suite = 'neovim', ok = ok and true or false, what = mode .. ': ' .. what }) .. '\n')
    f:close()
  end
  io.stderr:write(('%s %s: %s%s\n'):format(ok and 'ok  ' or 'FAIL', mode, what, (not ok and detail) and (': ' .. vim.inspect(detail)) or ''))
  if not ok then
    failures = failures + 1
  end
end
vim.defer_fn(function()
  check(false, 'timed out')
  os.exit(2)
end, 60000)

local function run()
  local client
  check(vim.wait(15000, function()
    client = vim.lsp.get_clients({ bufnr = 0, name = 'synergy_ls' })[1]
    return client ~= nil and client.initialized
  end, 50), 'synergy_ls attaches')
  local synergy = require('synergy')
  check(vim.wait(10000, function()
    return client and synergy.status[client.id] ~= nil
  end, 50), 'synergy/status arrives')
  local status = client and synergy.status[client.id] or {}
  check(status.state == 'notConfigured', 'the state is notConfigured', status)
  check(status.lastCheck == nil, 'a null lastCheck is nil, not vim.NIL', status.lastCheck)
  local said = mode == 'no-url' and 'SYNERGY_URL' or 'Personal Access Token'
  check((status.message or ''):find(said, 1, true) ~= nil, 'the message says what to set', status.message)

  local ok, err = pcall(vim.cmd, 'SynergyStatus')
  check(ok, ':SynergyStatus runs', err)
  local lines = synergy.status_lines()
  check(lines[1]:find('notConfigured', 1, true) ~= nil and lines[1]:find('vim.NIL', 1, true) == nil, ':SynergyStatus text', lines)

  ok, err = pcall(vim.cmd, 'checkhealth synergy')
  check(ok, ':checkhealth synergy runs', err)
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  check(report:find('Error executing', 1, true) == nil and report:find('E5108', 1, true) == nil, 'no Lua error in the report', report)
  local missing = mode == 'no-url' and 'no server URL' or 'no Personal Access Token'
  check(report:find('ERROR ' .. missing, 1, true) ~= nil, 'checkhealth says ' .. missing, report)
  check(report:find('notConfigured', 1, true) ~= nil, 'checkhealth shows the status', report)
  io.stderr:write(failures == 0 and ('all Neovim checks passed (' .. mode .. ')\n') or (failures .. ' check(s) failed\n'))
  os.exit(failures == 0 and 0 or 1)
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  check(false, 'the run: ' .. tostring(err))
  os.exit(1)
end
