//! Turning errors into messages: `error: file:line:column: message`, the
//! template line with a caret, and a hint. Never a data value.

use std::io::Write;

use crate::exit::Code;

/// A failed command: what to say and which exit code to use.
#[derive(Debug)]
pub struct Failure {
    pub code: Code,
    pub message: String,
    pub snippet: Option<String>,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            snippet: None,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn io(what: &str, e: std::io::Error) -> Self {
        Failure::new(Code::Input, format!("{what}: {e}"))
    }

    /// Writes the diagnostic.
    pub fn report(&self, w: &mut impl Write) {
        let _ = writeln!(w, "error: {}", self.message);
        if let Some(s) = &self.snippet {
            let _ = writeln!(w, "{s}");
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(w, "  = hint: {h}");
        }
    }
}

impl From<kit_core::Error> for Failure {
    fn from(e: kit_core::Error) -> Self {
        let code = match e {
            kit_core::Error::Io { .. } => Code::Input,
            _ => Code::Template,
        };
        Failure {
            code,
            message: e.to_string(),
            snippet: e.snippet(),
            hint: e.hint().map(str::to_owned),
        }
    }
}
