-- End-to-end test in real headless Neovim against the simulator (run by run.sh, which opens
-- plan.md, started with init.lua: the README's two lines). Exits 0 when every check passed.
local t = dofile(vim.env.SYNERGY_REPO .. '/editors/nvim/test/lib.lua')
local check = t.check
local function finish()
  t.finish('Neovim')
end

local function stats()
  local r = vim.system({ 'curl', '-sf', vim.env.SYNERGY_URL .. '/__sim/stats' }, { text = true }):wait()
  return vim.json.decode(r.stdout).requests
end

local function request(method, params)
  local responses = vim.lsp.buf_request_sync(0, method, params, 10000) or {}
  for _, r in pairs(responses) do
    if r.error then
      return nil, r.error
    end
    return r.result
  end
end

-- Waits for a diagnostic in the file at `path` (open or not), checks that one came, and
-- returns it (an empty table if none did).
local function diagnostic_in(path, what)
  local found
  check(vim.wait(15000, function()
    found = vim.iter(vim.diagnostic.get()):find(function(x)
      return vim.api.nvim_buf_get_name(x.bufnr) == path
    end)
    return found ~= nil
  end, 50), what, vim.diagnostic.get())
  return found or {}
end

local function position(line, col)
  return { textDocument = vim.lsp.util.make_text_document_params(0), position = { line = line, character = col } }
end

local function run()
  local client = t.attached('synergy_ls attaches to a markdown buffer')
  if not client then
    return finish()
  end
  check(client.config.root_dir == vim.env.WORKSPACE, 'root is the folder with .synergy.toml', client.config.root_dir)

  -- Line 0: `job:Riverside` (known); line 1: `job:Riversde` (unknown).
  local diags
  check(vim.wait(15000, function()
    diags = vim.diagnostic.get(0)
    return #diags > 0
  end, 50), 'diagnostics arrive')
  check(#diags == 1, 'exactly one diagnostic (none on known jobs)', diags)
  local d = diags[1] or {}
  check(d.code == 'unknown-job' and d.lnum == 1 and d.col == 5 and d.end_col == 17, 'unknown-job on job:Riversde', d)
  check(d.severity == vim.diagnostic.severity.WARN, 'as a warning', d.severity)
  check((d.message or ''):find('did you mean "Riverside"', 1, true) ~= nil, 'message suggests Riverside', d.message)

  -- The whole workspace: a stale reference in a file never opened is listed too, and
  -- `vim.diagnostic.setqflist()` (the README's way) puts it in the quickfix list.
  local levels = vim.env.WORKSPACE .. '/procedures/levels.md'
  local unopened = diagnostic_in(levels, 'a stale reference in a file never opened is listed')
  check(unopened.code == 'unknown-job' and unopened.lnum == 2 and unopened.col == 20, 'job:Gone42 in procedures/levels.md', unopened)
  check(unopened.bufnr and vim.fn.bufloaded(unopened.bufnr) == 0, 'levels.md was never opened (its buffer is not loaded)')
  vim.diagnostic.setqflist({ open = false })
  check(vim.iter(vim.fn.getqflist()):any(function(e)
    return vim.api.nvim_buf_get_name(e.bufnr) == levels and e.text:find('Gone42', 1, true) ~= nil
  end), 'vim.diagnostic.setqflist() lists it', vim.fn.getqflist())
  local symbols = request('workspace/symbol', { query = 'gone' }) or {}
  check(#symbols == 1 and symbols[1].location.uri == vim.uri_from_fname(levels), 'workspace/symbol finds job:Gone42 in the unopened file', symbols)

  local hover = request('textDocument/hover', position(0, 6))
  local text = hover and hover.contents and hover.contents.value or ''
  check(text:find('### Riverside', 1, true) == 1, 'hover shows the job card', text)
  check(text:find('40002_1', 1, true) ~= nil, 'hover shows the job id', text)

  -- Type a new line and complete it.
  vim.api.nvim_buf_set_lines(0, 2, 2, false, { 'Next: job:Highw' })
  local items = request('textDocument/completion', position(2, #'Next: job:Highw'))
  items = items and (items.items or items) or {}
  local labels = vim.tbl_map(function(i)
    return i.label
  end, items)
  check(vim.tbl_contains(labels, 'Highway Upgrade 2024'), 'completion offers "Highway Upgrade 2024"', labels)
  local item = vim.iter(items):find(function(i)
    return i.label == 'Highway Upgrade 2024'
  end) or {}
  check(item.textEdit and item.textEdit.newText == '"Highway Upgrade 2024"', 'completion quotes the name', item.textEdit)
  vim.api.nvim_buf_set_lines(0, 2, 3, false, {})

  -- Quick fix through the user's own command, cursor on the diagnostic.
  vim.api.nvim_win_set_cursor(0, { 2, 5 })
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title == 'Replace with "Riverside"'
    end,
  })
  check(vim.wait(5000, function()
    return vim.api.nvim_buf_get_lines(0, 1, 2, false)[1] == 'Also job:Riverside here.'
  end, 50), 'quick fix rewrites the line', vim.api.nvim_buf_get_lines(0, 0, -1, false))
  check(vim.wait(5000, function()
    return #vim.diagnostic.get(0) == 0
  end, 50), 'the fixed reference is no longer flagged', vim.diagnostic.get(0))

  -- The status notification reached lua/synergy.
  local status = require('synergy').status[client.id] or {}
  check(status.state == 'connected', 'synergy/status says connected', status)

  -- :SynergyRefresh drops the cache: the server is asked again.
  local before = stats()
  vim.cmd('SynergyRefresh')
  check(vim.wait(5000, function()
    return stats() > before
  end, 100), ':SynergyRefresh asks the server again', { before = before, after = stats() })
  local lines = require('synergy').status_lines()
  check(lines[1]:find('connected', 1, true) ~= nil, ':SynergyStatus text', lines)
  check(vim.wait(5000, function()
    lines = require('synergy').status_lines()
    return (lines[2] or ''):find('Workspace: 4 job references in 3 files.', 1, true) ~= nil
  end, 50), ':SynergyStatus says what the workspace index holds', lines)

  -- :SynergyFixAll: every safe fix in the workspace, in a file never opened too (Neovim loads
  -- it into a buffer to apply the edit); the ambiguous and unknown names are left.
  local case = vim.fs.joinpath(vim.env.WORKSPACE, 'procedures', 'case.md')
  check(vim.fn.bufloaded(vim.fn.bufnr(case)) == 0, 'case.md is not open before :SynergyFixAll')
  vim.cmd('SynergyFixAll')
  local fixed_line
  check(vim.wait(10000, function()
    local b = vim.fn.bufnr(case)
    fixed_line = b ~= -1 and vim.fn.bufloaded(b) == 1 and vim.api.nvim_buf_get_lines(b, 0, 1, false)[1]
    return fixed_line == 'Levels in job:Riverside.'
  end, 50), ':SynergyFixAll fixes job:riverside in a file never opened', fixed_line)
  check(vim.wait(5000, function()
    local r = require('synergy').last_fix
    return r ~= nil and r.fixed == 1 and r.files == 1 and r.applied == true
  end, 50), ':SynergyFixAll reports 1 reference in 1 file', require('synergy').last_fix)
  -- The document's fix-all, as `vim.lsp.buf.code_action({context = {only = {"source.fixAll"}}, apply = true})`.
  vim.api.nvim_buf_set_lines(0, -1, -1, false, { 'Then job:RIVERSIDE.' })
  local last = vim.api.nvim_buf_line_count(0)
  vim.wait(1000, function() return false end, 50) -- the change reaches the server
  vim.lsp.buf.code_action({ context = { only = { 'source.fixAll' }, diagnostics = {} }, apply = true })
  check(vim.wait(5000, function()
    return vim.api.nvim_buf_get_lines(0, last - 1, last, false)[1] == 'Then job:Riverside.'
  end, 50), 'source.fixAll fixes the document', vim.api.nvim_buf_get_lines(0, 0, -1, false))

  -- A second workspace folder with its own .synergy.toml: its files are checked with its
  -- settings (an unknown job is an error there); the first folder's keep theirs.
  vim.lsp.buf.add_workspace_folder(vim.env.SECOND)
  local notes = vim.fs.joinpath(vim.env.SECOND, 'notes.md')
  local in_second = diagnostic_in(notes, 'a file of an added workspace folder is checked')
  check(in_second.code == 'unknown-job' and in_second.severity == vim.diagnostic.severity.ERROR,
    "with its own folder's .synergy.toml (an error there)", in_second)
  local in_first = vim.iter(vim.diagnostic.get()):find(function(x)
    return vim.api.nvim_buf_get_name(x.bufnr) == levels
  end) or {}
  check(in_first.severity == vim.diagnostic.severity.WARN, "the first folder's files keep its settings (a warning)", in_first)

  -- :checkhealth synergy reports the binary, settings and a reachable server.
  vim.cmd('checkhealth synergy')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  check(report:find('OK synergy%-ls %d') ~= nil, 'checkhealth finds the binary', report)
  check(report:find('token: set in SYNERGY_TOKEN (not shown)', 1, true) ~= nil, 'checkhealth sees the token', report)
  check(report:find('Connected to', 1, true) ~= nil, 'checkhealth reaches the server', report)
  check(report:find(vim.env.SYNERGY_TOKEN, 1, true) == nil, 'checkhealth never shows the token', report)
  check(report:find('ERROR', 1, true) == nil, 'checkhealth has no errors', report)
  finish()
end

t.run(run, 60)
