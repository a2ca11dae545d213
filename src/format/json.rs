//! Requests from JSON, read by serde_json (with its `arbitrary_precision`
//! feature, which hands each number over as its text) through the types'
//! serde derives; and the messages of its errors.

use super::check_request_size;
use crate::error::InputError;
use crate::source::Location;
use std::sync::Arc;

/// Reads any request type from JSON with line:column positions in errors.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, InputError> {
    check_request_size(text.len())?;
    serde_json::from_str(text).map_err(|e| {
        let location = (e.line() > 0).then(|| {
            let offset = text.split_inclusive('\n').take(e.line().saturating_sub(1)).map(str::len).sum::<usize>()
                + e.column().saturating_sub(1);
            Location::new(&Arc::from(name), text, offset..offset)
        });
        // The location says where; the message says what.
        InputError::new(message(&e), location)
    })
}

/// serde_json's message without the " at line L column C" it appends; a
/// lone surrogate escape (which a JavaScript string can hold and
/// `JSON.stringify` writes as `\ud800`) is also named as such.
pub(crate) fn message(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rsplit_once(" at line ") {
        Some((m, _)) if e.line() > 0 => m.to_string(),
        _ => message,
    };
    if matches!(message.as_str(), "unexpected end of hex escape" | "lone leading surrogate in hex escape") {
        return format!(
            "{message}: a string holds a lone surrogate (\\ud800 to \\udfff not in a pair), which is no character"
        );
    }
    message
}

/// Whether a message ends as serde_json ends its errors' messages:
/// ` at line N column M`.
pub(crate) fn has_position(message: &str) -> bool {
    let Some((head, column)) = message.rsplit_once(" column ") else { return false };
    let Some((_, line)) = head.rsplit_once(" at line ") else { return false };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(line) && digits(column)
}
