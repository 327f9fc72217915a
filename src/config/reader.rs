//! Typed access to spanned TOML values, recording every problem instead of stopping.
//!
//! The config is read by walking toml's spanned document tree (`DeTable`) by hand rather
//! than through `#[derive(Deserialize)]`: serde stops at the first error of a struct, and
//! the config contract asks for every error, each at its own line and column.

use super::diagnostic::Problems;
use std::ops::Range;
use toml::de::{DeArray, DeString, DeTable, DeValue};
use toml::Spanned;

/// A TOML value with the byte span it came from.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;
/// A TOML key with the byte span it came from.
pub(crate) type Key<'i> = Spanned<DeString<'i>>;

/// Reads values of one text and collects problems as it goes.
#[derive(Default)]
pub(crate) struct Reader {
    pub(crate) problems: Problems,
}

impl Reader {
    /// Records a problem at `span`.
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.problems.add(span, message);
    }

    /// How many problems so far; compare before and after reading a part to know
    /// whether that part was clean.
    pub(crate) fn count(&self) -> usize {
        self.problems.len()
    }

    /// `value` as a string, or a problem naming `what`.
    pub(crate) fn string(&mut self, what: &str, value: &Value<'_>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.mismatch(what, "a string", other, value.span());
                None
            }
        }
    }

    /// `value` as a string usable in argv, env or a path: no NUL byte (execve cannot
    /// pass one).
    pub(crate) fn c_string(&mut self, what: &str, value: &Value<'_>) -> Option<String> {
        let s = self.string(what, value)?;
        if s.contains('\0') {
            self.error(
                value.span(),
                format!("{what} must not contain a NUL character"),
            );
            return None;
        }
        Some(s)
    }

    /// `value` as a boolean.
    pub(crate) fn boolean(&mut self, what: &str, value: &Value<'_>) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.mismatch(what, "true or false", other, value.span());
                None
            }
        }
    }

    /// `value` as an integer in `min..=max`.
    pub(crate) fn integer(
        &mut self,
        what: &str,
        value: &Value<'_>,
        min: i128,
        max: i128,
    ) -> Option<i128> {
        let range = || {
            if max == i128::from(u64::MAX) || max == i128::from(i64::MAX) {
                format!("an integer of at least {min}")
            } else {
                format!("an integer from {min} to {max}")
            }
        };
        match value.get_ref() {
            DeValue::Integer(int) => {
                let n = i128::from_str_radix(int.as_str(), int.radix()).ok();
                match n {
                    Some(n) if (min..=max).contains(&n) => Some(n),
                    _ => {
                        self.error(
                            value.span(),
                            format!("{what} must be {}, found {int}", range()),
                        );
                        None
                    }
                }
            }
            other => {
                self.mismatch(what, &range(), other, value.span());
                None
            }
        }
    }

    /// `value` as a table.
    pub(crate) fn table<'a, 'i>(
        &mut self,
        what: &str,
        value: &'a Value<'i>,
    ) -> Option<&'a DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                self.mismatch(what, "a table", other, value.span());
                None
            }
        }
    }

    /// `value` as an array.
    pub(crate) fn array<'a, 'i>(
        &mut self,
        what: &str,
        value: &'a Value<'i>,
    ) -> Option<&'a DeArray<'i>> {
        match value.get_ref() {
            DeValue::Array(array) => Some(array),
            other => {
                self.mismatch(what, "an array", other, value.span());
                None
            }
        }
    }

    /// Records "WHAT must be EXPECTED, found …".
    pub(crate) fn mismatch(
        &mut self,
        what: &str,
        expected: &str,
        found: &DeValue<'_>,
        span: Range<usize>,
    ) {
        self.error(
            span,
            format!("{what} must be {expected}, found {}", describe(found)),
        );
    }

    /// Records an unknown key, suggesting the closest known one or listing them all.
    pub(crate) fn unknown_key(&mut self, key: &Key<'_>, place: &str, known: &[&str]) {
        let name = key.get_ref().as_ref();
        let hint = match closest(name, known) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("expected {}", list(known)),
        };
        self.error(key.span(), format!("unknown key `{name}` {place}; {hint}"));
    }
}

/// "a string", "the integer 3", …: what a user wrote, for messages.
pub(crate) fn describe(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("the string {:?}", s.as_ref()),
        DeValue::Integer(i) => format!("the integer {i}"),
        DeValue::Float(f) => format!("the float {f}"),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(d) => format!("the datetime {d}"),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// "`a`, `b` or `c`".
pub(crate) fn list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The known name within edit distance 2 of `name`, if exactly one is closest.
fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let mut best: Option<(usize, &str)> = None;
    for candidate in known {
        let distance = edit_distance(name, candidate);
        if distance <= 2 && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_nearest_key() {
        assert_eq!(closest("nmae", &["name", "program"]), Some("name"));
        assert_eq!(
            closest("childfds", &["child_fds", "cwd"]),
            Some("child_fds")
        );
        assert_eq!(closest("zzzzzz", &["name", "program"]), None);
        assert_eq!(list(&["a", "b", "c"]), "`a`, `b` or `c`");
        assert_eq!(list(&["a"]), "`a`");
    }
}
