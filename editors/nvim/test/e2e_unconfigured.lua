-- The first state a new user is in, in real headless Neovim (run by run.sh twice: without a
-- server URL, and with a URL but no token): synergy_ls attaches, `synergy/status` says
-- notConfigured (with `server` and `lastCheck` null, which Neovim turns into vim.NIL), and
-- :SynergyStatus and :checkhealth synergy work and say what to do, without a Lua error.
local mode = vim.env.E2E_MODE -- 'no-url' | 'no-token'
local t = dofile(vim.env.SYNERGY_REPO .. '/editors/nvim/test/lib.lua')
t.prefix = mode .. ': '
local check = t.check

local function run()
  local client = t.attached('synergy_ls attaches')
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
  t.finish('Neovim (' .. mode .. ')')
end

t.run(run, 60)
