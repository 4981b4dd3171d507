;;; e2e.el --- batch Emacs + eglot against synergy-ls and the simulator  -*- lexical-binding: t; -*-
;; Run by run.sh in the workspace folder. Exits 0 when every check passed.

(require 'cl-lib)
(add-to-list 'load-path (expand-file-name "editors/emacs" (getenv "SYNERGY_REPO")))
(require 'synergy-ls)

(defvar e2e-failures 0)
(defun e2e-check (ok what &optional detail)
  (princ (format "%s %s%s\n" (if ok "ok  " "FAIL") what (if (and (not ok) detail) (format ": %S" detail) "")))
  (unless ok (cl-incf e2e-failures))
  ok)
(defun e2e-wait (pred seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))

(run-at-time 60 nil (lambda () (princ "FAIL timed out\n") (kill-emacs 2)))

(find-file "plan.txt")
(text-mode)
;; What `M-x eglot' does (`eglot-ensure' waits for a command loop that batch Emacs lacks); the
;; server program comes from the `eglot-server-programs' entry synergy-ls.el added.
(apply #'eglot (eglot--guess-contact))
(e2e-check (e2e-wait (lambda () (eglot-current-server)) 15) "eglot connects to synergy-ls")
(let ((server (eglot-current-server)))
  ;; Diagnostics through flymake: one, on job:Riversde.
  (e2e-check (e2e-wait (lambda () (flymake-diagnostics)) 15) "diagnostics arrive")
  (let ((diags (flymake-diagnostics)))
    (e2e-check (= (length diags) 1) "exactly one diagnostic" (mapcar #'flymake-diagnostic-text diags))
    (e2e-check (string-match-p "did you mean \"Riverside\"" (flymake-diagnostic-text (car diags)))
               "it suggests Riverside" (flymake-diagnostic-text (car diags)))
    (e2e-check (equal (buffer-substring (flymake-diagnostic-beg (car diags)) (flymake-diagnostic-end (car diags)))
                      "job:Riversde")
               "it underlines job:Riversde"))
  ;; Hover on job:Riverside.
  (goto-char (point-min))
  (search-forward "job:River")
  (let* ((hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
         (value (plist-get (plist-get hover :contents) :value)))
    (e2e-check (and value (string-prefix-p "### Riverside" value)) "hover shows the job card" value))
  ;; Completion after typing.
  (goto-char (point-max))
  (insert "Next: job:Highw")
  (eglot--signal-textDocument/didChange)  ; what eglot's idle timer would send
  (let* ((result (jsonrpc-request server :textDocument/completion (eglot--CompletionParams)))
         (items (if (vectorp result) result (plist-get result :items)))
         (labels (mapcar (lambda (i) (plist-get i :label)) items)))
    (e2e-check (member "Highway Upgrade 2024" labels) "completion offers Highway Upgrade 2024" labels))
  ;; The custom notification reached synergy-ls.el.
  (e2e-check (equal (plist-get synergy-ls-status :state) "connected") "synergy/status is connected" synergy-ls-status)
  (ignore-errors (eglot-shutdown server)))

(princ (if (zerop e2e-failures) "all eglot checks passed\n" (format "%d check(s) failed\n" e2e-failures)))
(kill-emacs (if (zerop e2e-failures) 0 1))
