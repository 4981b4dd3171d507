-- synergy-ls for Neovim 0.11+: with editors/nvim on 'runtimepath', `vim.lsp.enable('synergy_ls')`
-- is all a user writes. Override anything with `vim.lsp.config('synergy_ls', { ... })`.
--
-- The Personal Access Token is never written here: synergy-ls reads SYNERGY_TOKEN from the
-- environment Neovim was started in, or runs `settings.synergy.tokenCommand`
-- (e.g. 'pass show synergy').

---@type vim.lsp.Config
return {
  -- SYNERGY_LS_PATH picks a binary explicitly; otherwise `synergy-ls` from PATH.
  cmd = { vim.env.SYNERGY_LS_PATH or 'synergy-ls' },
  -- The documents (the server's one list, scan::DOCUMENT_EXTENSIONS, by Neovim's filetype
  -- names; tests/editor_manifests.rs checks it). Add a filetype to check its comments.
  filetypes = { 'markdown', 'mdx', 'text', 'rst', 'asciidoc' },
  root_markers = { '.synergy.toml', '.git' },
  -- Sent as the `synergy` section of workspace/configuration; the keys are the server's
  -- settings (README, "Configuration"). serverUrl falls back to SYNERGY_URL.
  settings = {
    synergy = vim.empty_dict(),
  },
  handlers = {
    ['synergy/status'] = function(_, params, ctx)
      local ok, synergy = pcall(require, 'synergy')
      if ok then
        synergy.on_status(params, ctx.client_id)
      end
    end,
  },
}
