//! Shared loading machinery: reading a TOML document with positions, and
//! turning written values into checked decimals while collecting problems.

use crate::error::{LoadProblem, LoadProblemKind};
use crate::format::document::{Read, Shape};
use crate::money::{Number, NumberError};
use crate::source::{Location, Source};
use rust_decimal::Decimal;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use toml::Spanned;

/// The first definition of each name of a kind (`role`, `text model`, …),
/// across files: a later one is a duplicate.
///
/// Keyed by kind and name joined by a newline (a valid name holds no
/// whitespace), in the hash map type the TOML reader's index uses too: the
/// WebAssembly module carries one copy of the hash table code.
#[derive(Default)]
pub(crate) struct Claims {
    index: HashMap<Cow<'static, str>, usize>,
    first: Vec<Location>,
}

impl Claims {
    /// The checked name, or `None` when it is not a valid name or the kind
    /// already has it (both reported).
    pub(crate) fn claim(&mut self, cx: &mut FileCtx, what: &'static str, name: &Spanned<String>) -> Option<Arc<str>> {
        let id = cx.name(name, what)?;
        let key = format!("{what}\n{id}");
        if let Some(first) = self.index.get(key.as_str()).and_then(|&i| self.first.get(i)) {
            let kind = LoadProblemKind::Duplicate { what, name: name.get_ref().clone(), first: first.clone() };
            cx.report(kind, name.span());
            return None;
        }
        self.index.insert(Cow::Owned(key), self.first.len());
        self.first.push(cx.at(name.span()));
        Some(id)
    }
}

/// Problems of one load, gathered across files and sorted into source order.
#[derive(Default)]
pub(crate) struct Problems {
    list: Vec<(usize, LoadProblem)>,
}

impl Problems {
    pub(crate) fn push(&mut self, file_index: usize, problem: LoadProblem) {
        self.list.push((file_index, problem));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many so far.
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Into a load error, in file order then position order.
    pub(crate) fn into_error(mut self) -> crate::error::LoadError {
        self.list.sort_by_key(|(file, p)| (*file, p.location().map_or(0, |l| l.span().start)));
        crate::error::LoadError::new(self.list.into_iter().map(|(_, p)| p).collect())
    }
}

/// Checks values of one source, recording problems at their positions.
pub(crate) struct FileCtx<'a> {
    pub(crate) src: &'a Source,
    pub(crate) index: usize,
    pub(crate) problems: &'a mut Problems,
}

impl<'a> FileCtx<'a> {
    pub(crate) fn at(&self, span: Range<usize>) -> Location {
        self.src.locate(span)
    }

    pub(crate) fn report(&mut self, kind: LoadProblemKind, span: Range<usize>) {
        let location = Some(self.at(span));
        self.problems.push(self.index, LoadProblem::new(kind, location));
    }

    /// Reports `count` over `limit` at `span`; true when within the bound.
    pub(crate) fn within(&mut self, what: &'static str, count: usize, limit: usize, span: Range<usize>) -> bool {
        if count > limit {
            self.report(LoadProblemKind::TooLarge { what, count, limit }, span);
            return false;
        }
        true
    }

    /// Parses and reads the whole document, reporting a syntax or shape
    /// problem on failure.
    pub(crate) fn parse<T: Read>(&mut self) -> Option<T> {
        if !self.within("bytes of the file", self.src.text.len(), crate::limits::MAX_SOURCE_BYTES, 0..0) {
            return None;
        }
        match crate::format::document::document::<T>(&self.src.text) {
            Ok(doc) => Some(doc),
            Err(shapes) => {
                for Shape { message, span } in shapes {
                    self.report(LoadProblemKind::Syntax { message }, span);
                }
                None
            }
        }
    }

    /// Any decimal, exactly as written.
    pub(crate) fn decimal(&mut self, n: &Spanned<Number>) -> Option<Decimal> {
        let span = n.span();
        match n.get_ref().to_decimal() {
            Ok(d) => Some(d),
            Err(e) => {
                let kind = match e {
                    NumberError::NotANumber(value) => LoadProblemKind::NotANumber { value },
                    NumberError::OutOfRange(value) => LoadProblemKind::OutOfRange { value },
                };
                self.report(kind, span);
                None
            }
        }
    }

    /// A decimal of zero or more (rates, amounts, durations).
    pub(crate) fn non_negative(&mut self, n: &Spanned<Number>, field: &str) -> Option<Decimal> {
        let d = self.decimal(n)?;
        if d.is_sign_negative() && !d.is_zero() {
            self.report(LoadProblemKind::Negative { field: field.to_string(), value: d }, n.span());
            return None;
        }
        Some(d)
    }

    /// A decimal above zero.
    pub(crate) fn positive(&mut self, n: &Spanned<Number>, field: &str) -> Option<Decimal> {
        let d = self.decimal(n)?;
        if d <= Decimal::ZERO {
            self.report(LoadProblemKind::NotPositive { field: field.to_string(), value: d }, n.span());
            return None;
        }
        Some(d)
    }

    /// A whole number of zero or more.
    pub(crate) fn whole(&mut self, n: &Spanned<Number>, field: &str) -> Option<Decimal> {
        let d = self.non_negative(n, field)?;
        if !crate::money::is_whole(d) {
            self.report(LoadProblemKind::NotWhole { field: field.to_string(), value: d }, n.span());
            return None;
        }
        Some(d.trunc())
    }

    /// A name: non-empty, no whitespace or control characters.
    pub(crate) fn name(&mut self, n: &Spanned<String>, what: &'static str) -> Option<Arc<str>> {
        let s = n.get_ref();
        if !self.within("characters of a name", s.chars().count(), crate::limits::MAX_NAME_CHARS, n.span()) {
            return None;
        }
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.report(LoadProblemKind::BadName { what, name: s.clone() }, n.span());
            return None;
        }
        Some(Arc::from(s.as_str()))
    }
}
