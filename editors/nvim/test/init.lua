-- The README's setup, verbatim but for the path: this is what the Neovim test loads.
vim.opt.runtimepath:append(vim.env.SYNERGY_REPO .. '/editors/nvim')
vim.lsp.enable('synergy_ls')
