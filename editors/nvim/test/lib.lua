-- What the Neovim end-to-end scripts share (loaded with dofile): checks that print
-- `ok   WHAT` / `FAIL WHAT` and append a JSON line to $SYNERGY_EDITOR_RESULTS (counted by
-- scripts/test), a time limit, and waiting for synergy_ls to attach.
local M = { failures = 0, prefix = '' }

local function log(msg)
  io.stderr:write(msg .. '\n')
end

local function record(ok, what)
  local path = vim.env.SYNERGY_EDITOR_RESULTS
  if path and path ~= '' then
    local f = assert(io.open(path, 'a'))
    f:write(vim.json.encode({ suite = 'neovim', ok = ok and true or false, what = what }) .. '\n')
    f:close()
  end
end

--- Records one check; returns `ok`.
function M.check(ok, what, detail)
  what = M.prefix .. what
  record(ok, what)
  if ok then
    log('ok   ' .. what)
  else
    log('FAIL ' .. what .. (detail and (': ' .. vim.inspect(detail)) or ''))
    M.failures = M.failures + 1
  end
  return ok
end

--- Exits: 0 when every check passed.
function M.finish(suite)
  if M.failures > 0 then
    log(('%d check(s) failed'):format(M.failures))
    os.exit(1)
  end
  log('all ' .. suite .. ' checks passed')
  os.exit(0)
end

--- Runs `fn` under a time limit, a failed check for any Lua error.
function M.run(fn, seconds)
  vim.defer_fn(function()
    M.check(false, 'timed out')
    os.exit(2)
  end, seconds * 1000)
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    M.check(false, 'the run: ' .. tostring(err))
    os.exit(1)
  end
end

--- The synergy_ls client of the current buffer, once initialized (checked), or nil.
function M.attached(what)
  local client
  M.check(vim.wait(15000, function()
    client = vim.lsp.get_clients({ bufnr = 0, name = 'synergy_ls' })[1]
    return client ~= nil and client.initialized
  end, 50), what)
  return client
end

return M
