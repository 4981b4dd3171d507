;;; synergy-ls.el --- eglot setup for synergy-ls (12d Synergy job references)  -*- lexical-binding: t; -*-

;; Load this file (or copy the form below into your init file). The Personal Access Token comes
;; from SYNERGY_TOKEN in the environment Emacs was started in, or from `tokenCommand' in
;; `eglot-workspace-configuration'; never put the token itself in a Lisp file.

;;; Code:

(require 'eglot)

(add-to-list 'eglot-server-programs
             '((markdown-mode gfm-mode text-mode rst-mode adoc-mode) . ("synergy-ls")))

(defvar synergy-ls-status nil
  "The last `synergy/status' notification from synergy-ls, as a plist.")

(cl-defmethod eglot-handle-notification
  (_server (_method (eql synergy/status)) &rest params &key state message &allow-other-keys)
  "Keep synergy-ls's connection state; say it when it is a problem."
  (setq synergy-ls-status params)
  (unless (member state '("connected" "idle"))
    (message "synergy-ls: %s" message)))

(provide 'synergy-ls)
;;; synergy-ls.el ends here
