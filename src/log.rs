//! Where logs go: stderr, through a writer that scrubs every known token from each line.
//!
//! Redaction at the writer, not at each log call, is what makes "no token in any log" hold
//! for every crate and every level: tower-lsp-server logs each raw message at `trace`,
//! reqwest and hyper log what they send at `trace`, and a field added tomorrow cannot forget
//! it. The tokens are those this process has seen through any channel (the environment,
//! `tokenCommand`, `initializationOptions`, the editor's settings, a `.synergy.toml`), old and
//! new ([`crate::config::redact`]).

use std::io::Write;

/// A `tracing_subscriber` writer factory: each event is formatted into a [`RedactingLine`]
/// and written to stderr, scrubbed, in one `write_all` when the line is done.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactingStderr;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> RedactingLine {
        RedactingLine { buf: Vec::with_capacity(256), out: Box::new(std::io::stderr()) }
    }
}

/// One log event being written; redacted and flushed to its output when dropped.
pub struct RedactingLine {
    buf: Vec<u8>,
    out: Box<dyn Write + Send>,
}

impl RedactingLine {
    /// A line that goes to `out` instead of stderr (for tests).
    pub fn to(out: Box<dyn Write + Send>) -> RedactingLine {
        RedactingLine { buf: Vec::new(), out }
    }
}

impl Write for RedactingLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let _ = self.out.write_all(crate::config::redact(&text).as_bytes());
        let _ = self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_is_written_once_and_scrubbed() {
        let _ = crate::config::Secret::new("tok-LOG-5e7d21");
        let sink = Shared::default();
        {
            let mut line = RedactingLine::to(Box::new(sink.clone()));
            // Written in pieces, as a formatter does: a token split across writes is still found.
            line.write_all(b"<- {\"token\":\"tok-LOG-").unwrap();
            line.write_all(b"5e7d21\"}\n").unwrap();
            assert!(sink.0.lock().unwrap().is_empty(), "nothing written before the line ends");
        }
        assert_eq!(String::from_utf8(sink.0.lock().unwrap().clone()).unwrap(), "<- {\"token\":\"<redacted>\"}\n");
    }
}
