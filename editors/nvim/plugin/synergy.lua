-- User commands for synergy-ls (see lua/synergy/init.lua).
if vim.g.loaded_synergy then
  return
end
vim.g.loaded_synergy = true

vim.api.nvim_create_user_command('SynergyRefresh', function()
  require('synergy').refresh()
end, { desc = 'synergy-ls: drop the job cache and re-check open documents' })

vim.api.nvim_create_user_command('SynergyStatus', function()
  require('synergy').show_status()
end, { desc = 'synergy-ls: connection state and what to do about it' })

vim.api.nvim_create_user_command('SynergyFixAll', function()
  require('synergy').fix_all()
end, { desc = 'synergy-ls: apply every safe fix in the workspace (case mismatches, renamed jobs)' })
