;;; e2e.el --- batch Emacs + eglot against synergy-ls and the simulator  -*- lexical-binding: t; -*-
;; Run by run.sh in the workspace folder. Exits 0 when every check passed.

(add-to-list 'load-path (expand-file-name "editors/emacs" (getenv "SYNERGY_REPO")))
(require 'synergy-ls)
(add-to-list 'load-path (file-name-directory load-file-name))
(require 'e2e-lib)

(e2e-start)
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
  ;; The whole workspace: eglot keeps a file that is not visited in
  ;; `flymake-list-only-diagnostics', which `flymake-show-project-diagnostics' lists.
  (let ((unvisited (lambda ()
                     (seq-find (lambda (entry) (string-suffix-p "procedures/levels.md" (car entry)))
                               flymake-list-only-diagnostics))))
    (e2e-check (e2e-wait unvisited 15) "a stale reference in a file never visited is listed"
               flymake-list-only-diagnostics)
    (let ((texts (mapcar #'flymake-diagnostic-text (cdr (funcall unvisited)))))
      (e2e-check (and (= (length texts) 1) (string-match-p "Gone42" (car texts)))
                 "it is job:Gone42 in procedures/levels.md" texts))
    (e2e-check (not (find-buffer-visiting (car (funcall unvisited)))) "levels.md was never visited"))
  ;; Hover on job:Riverside.
  (goto-char (point-min))
  (search-forward "job:River")
  (let* ((hover (jsonrpc-request server :textDocument/hover (eglot--TextDocumentPositionParams)))
         (value (plist-get (plist-get hover :contents) :value)))
    ;; Batch Emacs has no markdown-mode, so eglot declares plain text only: the card comes as
    ;; text, not as Markdown labelled plain.
    (e2e-check (and value (string-prefix-p "Riverside\n" value) (string-match-p "40002_1" value)
                    (not (string-match-p "###\\|`" value)))
               "hover shows the job card, in plain text as eglot asked" value))
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

(e2e-finish "eglot")
