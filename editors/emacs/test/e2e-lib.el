;;; e2e-lib.el --- what the Emacs end-to-end tests share  -*- lexical-binding: t; -*-
;; Checks print `ok   WHAT' / `FAIL WHAT' and append a JSON line to $SYNERGY_EDITOR_RESULTS,
;; which scripts/test counts.

;;; Code:

(require 'cl-lib)
(require 'json)

(defvar e2e-failures 0)
(defun e2e-record (ok what)
  "Append WHAT's result as a JSON line to $SYNERGY_EDITOR_RESULTS, which scripts/test counts."
  (let ((path (getenv "SYNERGY_EDITOR_RESULTS")))
    (when (and path (not (string-empty-p path)))
      (with-temp-buffer
        (insert (json-encode `((suite . "emacs") (ok . ,(if ok t :json-false)) (what . ,what))) "\n")
        (append-to-file (point-min) (point-max) path)))))
(defun e2e-check (ok what &optional detail)
  (e2e-record ok what)
  (princ (format "%s %s%s\n" (if ok "ok  " "FAIL") what (if (and (not ok) detail) (format ": %S" detail) "")))
  (unless ok (cl-incf e2e-failures))
  ok)
(defun e2e-wait (pred seconds)
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))

(defun e2e-start ()
  "Open plan.txt and start eglot on it, as `M-x eglot' does."
  (run-at-time 60 nil (lambda () (e2e-record nil "timed out") (princ "FAIL timed out\n") (kill-emacs 2)))
  (find-file "plan.txt")
  (text-mode)
  ;; `eglot-ensure' waits for a command loop that batch Emacs lacks; the server program comes
  ;; from the `eglot-server-programs' entry synergy-ls.el added.
  (apply #'eglot (eglot--guess-contact))
  (e2e-check (e2e-wait (lambda () (eglot-current-server)) 15) "eglot connects to synergy-ls"))

(defun e2e-finish (suite)
  "Say how SUITE went and exit with its status."
  (princ (if (zerop e2e-failures) (format "all %s checks passed\n" suite) (format "%d check(s) failed\n" e2e-failures)))
  (kill-emacs (if (zerop e2e-failures) 0 1)))

(provide 'e2e-lib)
;;; e2e-lib.el ends here
