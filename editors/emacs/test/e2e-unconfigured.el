;;; e2e-unconfigured.el --- eglot + synergy-ls in the first state a new user is in  -*- lexical-binding: t; -*-
;; Run by run.sh twice, with E2E_MODE `no-url' (no server URL) and `no-token' (a URL, no
;; token): eglot connects, `synergy/status' says notConfigured with null `server'/`lastCheck'
;; (nil here, not a string), the handler shows what to set, and nothing is flagged.

;;; Code:

(add-to-list 'load-path (expand-file-name "editors/emacs" (getenv "SYNERGY_REPO")))
(require 'synergy-ls)
(add-to-list 'load-path (file-name-directory load-file-name))
(require 'e2e-lib)

(let ((mode (getenv "E2E_MODE")))
  (e2e-start)
  (e2e-check (e2e-wait (lambda () synergy-ls-status) 15) (format "%s: synergy/status arrives" mode))
  (e2e-check (equal (plist-get synergy-ls-status :state) "notConfigured")
             (format "%s: the state is notConfigured" mode) synergy-ls-status)
  (e2e-check (null (plist-get synergy-ls-status :lastCheck))
             (format "%s: a null lastCheck is nil" mode) synergy-ls-status)
  (let ((said (if (equal mode "no-url") "SYNERGY_URL" "Personal Access Token")))
    (e2e-check (string-match-p (regexp-quote said) (or (plist-get synergy-ls-status :message) ""))
               (format "%s: the message says what to set" mode) synergy-ls-status))
  (sleep-for 1)
  (e2e-check (null (flymake-diagnostics)) (format "%s: nothing is flagged" mode) (flymake-diagnostics))
  (ignore-errors (eglot-shutdown (eglot-current-server))))

(e2e-finish "eglot (unconfigured)")
;;; e2e-unconfigured.el ends here
