//! Errors of a config file, each pointing at a line and column.

use std::fmt;
use std::ops::Range;

/// One problem in a config file, at a place a user can jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the caller named it (a path, or e.g. `<built-in>`).
    pub file: String,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. it cannot be read).
    pub line: usize,
    /// 1-based column, counted in characters (not bytes); 0 with `line` 0.
    pub column: usize,
    /// What is wrong, in one line.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    /// `file:line:col: message`, or `file: message` for a whole-file problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in a config file, in the order they appear in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// At least one diagnostic, sorted by position.
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    /// One `file:line:col: message` per line, each line ending in `\n` (print it with
    /// `eprint!`, not `eprintln!`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for diagnostic in &self.diagnostics {
            writeln!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Turns byte offsets of one text into 1-based line and character column.
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// Line and column of byte `offset` (clamped to the text).
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&start| start <= offset);
        let start = self.starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        (line, column)
    }
}

/// Problems collected while reading one text, as byte spans; made into
/// [`Diagnostic`]s at the end, sorted by position.
#[derive(Default)]
pub(crate) struct Problems {
    found: Vec<(Range<usize>, String)>,
}

impl Problems {
    /// Records `message` at `span`.
    ///
    /// Control characters (a newline inside a quoted key or a value the message quotes)
    /// are escaped: each diagnostic stays one line of `file:line:col: message`.
    pub(crate) fn add(&mut self, span: Range<usize>, message: impl Into<String>) {
        let message: String = message.into();
        let message = if message.chars().any(char::is_control) {
            message
                .chars()
                .map(|c| {
                    if c.is_control() {
                        c.escape_default().to_string()
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        } else {
            message
        };
        self.found.push((span, message));
    }

    /// True when nothing was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// How many problems were recorded.
    pub(crate) fn len(&self) -> usize {
        self.found.len()
    }

    /// The diagnostics, in file order (stable for problems at the same place).
    pub(crate) fn into_error(self, text: &str, file: &str) -> ConfigError {
        let index = LineIndex::new(text);
        let mut found = self.found;
        found.sort_by_key(|(span, _)| span.start);
        ConfigError {
            diagnostics: found
                .into_iter()
                .map(|(span, message)| {
                    let (line, column) = index.position(span.start);
                    Diagnostic {
                        file: file.to_owned(),
                        line,
                        column,
                        message,
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\nçé x\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(2), (1, 3));
        assert_eq!(index.position(3), (2, 1));
        assert_eq!(index.position(8), (2, 4)); // after "çé " (5 bytes, 3 chars)
        assert_eq!(index.position(10), (3, 1)); // end of text
    }
}
