//! Fd numbers and fd values as written in a config: `child_fds` and `labels` keys,
//! `child_fds` values, `fd = N` in `script`.

use super::reader::{describe, Key, Reader, Value};
use crate::ChildFd;
use toml::de::DeValue;

use crate::spawn::MAX_CHILD_FD;

/// A child fd number written as a table key (`3 = "w"`: TOML keys are strings).
pub(crate) fn fd_key(reader: &mut Reader, table: &str, key: &Key<'_>) -> Option<i32> {
    let text: &str = key.get_ref();
    let message = match text.parse::<i64>() {
        Ok(n) if n < 0 => format!("`{table}`: fd {n} is negative; child fds are numbered from 0"),
        Ok(n) if n > i64::from(MAX_CHILD_FD) => {
            format!("`{table}`: fd {n} is above {MAX_CHILD_FD}, the highest child fd")
        }
        Ok(n) => return i32::try_from(n).ok(),
        Err(_) => format!("`{table}`: key `{text}` is not an fd number (0, 1, 2, …)"),
    };
    reader.error(key.span(), message);
    None
}

/// A child fd number written as a value (`fd = 4`, `close = 0`).
pub(crate) fn fd_value(reader: &mut Reader, what: &str, value: &Value<'_>) -> Option<i32> {
    if let DeValue::Integer(int) = value.get_ref() {
        if int.as_str().starts_with('-') {
            reader.error(
                value.span(),
                format!("{what}: fd {int} is negative; child fds are numbered from 0"),
            );
            return None;
        }
    }
    reader
        .integer(what, value, 0, i128::from(MAX_CHILD_FD))
        .and_then(|n| i32::try_from(n).ok())
}

/// What a child fd is connected to: `"r"`, `"w"`, `"null"` or a parent fd number.
pub(crate) fn child_fd_value(reader: &mut Reader, fd: i32, value: &Value<'_>) -> Option<ChildFd> {
    const EXPECTED: &str = ChildFd::EXPECTED;
    match value.get_ref() {
        DeValue::String(s) => match ChildFd::from_word(s) {
            Some(what) => Some(what),
            None => {
                let other: &str = s;
                let hint = if other.parse::<i64>().is_ok() {
                    format!(" (write a parent fd as a number: {fd} = {other})")
                } else {
                    String::new()
                };
                reader.error(
                    value.span(),
                    format!("`child_fds`: fd {fd} has invalid value {other:?}, expected {EXPECTED}{hint}"),
                );
                None
            }
        },
        DeValue::Integer(int) => {
            let parent = i128::from_str_radix(int.as_str(), int.radix()).ok();
            match parent.map(i32::try_from) {
                Some(Ok(parent)) if parent >= 0 => Some(ChildFd::Parent(parent)),
                _ => {
                    reader.error(
                        value.span(),
                        format!("`child_fds`: fd {fd} maps parent fd {int}, which is not a valid fd number"),
                    );
                    None
                }
            }
        }
        other => {
            reader.error(
                value.span(),
                format!(
                    "`child_fds`: fd {fd} must be {EXPECTED}, found {}",
                    describe(other)
                ),
            );
            None
        }
    }
}
