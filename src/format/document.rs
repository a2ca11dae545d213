//! Reading rate and policy documents out of the `toml` crate's document
//! tree (`toml::de::DeTable`: every value with its byte span, numbers as
//! their text).
//!
//! The readers here walk that tree into the document types of `rates::doc`
//! and `policy::doc`, rather than serde's derives, for two reasons: a
//! number keeps its text, so it becomes a decimal exactly as written (serde
//! hands over a float); and a reader can carry on past a problem where a
//! derive stops at the first. The messages follow serde's wording:
//! `unknown field`, `missing field`, `invalid type`, `unknown variant`, each
//! at the key or value it is about.

use crate::money::Number;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A value of the document and its span.
pub(crate) type Node<'i> = Spanned<DeValue<'i>>;

/// Why a document does not have the expected shape, and where.
#[derive(Debug)]
pub(crate) struct Shape {
    pub(crate) message: String,
    pub(crate) span: Range<usize>,
}

pub(crate) type Result<T> = std::result::Result<T, Shape>;

/// A type that reads itself from a node of the tree.
pub(crate) trait Read: Sized {
    fn read(node: &Node<'_>) -> Result<Self>;
}

std::thread_local! {
    /// Shape problems found while a document is read that did not stop the
    /// reading: an unknown field, an element of a list or table that could
    /// not be read (its siblings are still read). `document` collects them.
    static FOUND: std::cell::RefCell<Vec<Shape>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Notes a problem and carries on reading.
fn note(shape: Shape) {
    FOUND.with(|f| f.borrow_mut().push(shape));
}

/// Parses a TOML document and reads it as `T`; or every syntax problem
/// (the toml crate recovers past each), else every shape problem, in the
/// order of the text.
pub(crate) fn document<T: Read>(text: &str) -> std::result::Result<T, Vec<Shape>> {
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let mut shapes: Vec<Shape> =
            errors.iter().map(|e| Shape { message: e.message().to_string(), span: e.span().unwrap_or(0..0) }).collect();
        shapes.sort_by_key(|s| s.span.start);
        return Err(shapes);
    }
    let (span, table) = (root.span(), root.into_inner());
    FOUND.with(|f| f.borrow_mut().clear());
    let read = T::read(&Spanned::new(span, DeValue::Table(table)));
    let mut shapes = FOUND.with(|f| std::mem::take(&mut *f.borrow_mut()));
    match read {
        Ok(doc) if shapes.is_empty() => Ok(doc),
        Ok(_) => Err(shapes),
        Err(last) => {
            shapes.push(last);
            shapes.sort_by_key(|s| s.span.start);
            Err(shapes)
        }
    }
}

/// Text in double quotes as `{:?}` writes it for the text a person types:
/// `"`, `\\` and control characters escaped. Other characters are kept as
/// they are (`Debug` also escapes unprintable ones, from tables the
/// WebAssembly module would have to carry).
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                use std::fmt::Write as _;
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What a value is, in serde's words (`integer `5``, `string "x"`).
fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) => format!("string {}", quoted(s)),
        DeValue::Integer(i) => format!("integer `{i}`"),
        DeValue::Float(f) => format!("floating point `{f}`"),
        DeValue::Boolean(b) => format!("boolean `{b}`"),
        DeValue::Datetime(d) => format!("datetime `{d}`"),
        DeValue::Array(_) => "sequence".to_string(),
        DeValue::Table(_) => "map".to_string(),
    }
}

/// `invalid type: …, expected …` at the value.
pub(crate) fn invalid(node: &Node<'_>, expected: &str) -> Shape {
    Shape { message: format!("invalid type: {}, expected {expected}", found(node.get_ref())), span: node.span() }
}

/// serde's list of choices: "`a`", "`a` or `b`", "one of `a`, `b`, `c`".
pub(crate) fn one_of(names: &[&str]) -> String {
    match names {
        [] => "nothing".to_string(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        more => format!("one of {}", more.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
    }
}

/// The fields of a table, checked against the names a type knows.
pub(crate) struct Table<'a, 'i> {
    span: Range<usize>,
    table: &'a DeTable<'i>,
}

impl<'a, 'i> Table<'a, 'i> {
    /// The node as a table with no keys outside `fields`.
    pub(crate) fn new(node: &'a Node<'i>, fields: &[&str]) -> Result<Self> {
        let DeValue::Table(table) = node.get_ref() else {
            return Err(invalid(node, "a table"));
        };
        for (key, _) in table.iter().filter(|(k, _)| !fields.contains(&k.get_ref().as_ref())) {
            let name = key.get_ref();
            let message = match (fields, crate::error::nearest(name, fields.iter().copied())) {
                ([], _) => format!("unknown field `{name}`, there are no fields"),
                (_, Some(near)) => {
                    format!("unknown field `{name}` (did you mean `{near}`?), expected {}", one_of(fields))
                }
                (_, None) => format!("unknown field `{name}`, expected {}", one_of(fields)),
            };
            note(Shape { message, span: key.span() });
        }
        Ok(Table { span: node.span(), table })
    }

    fn get(&self, key: &str) -> Option<&'a Node<'i>> {
        self.table.get(key)
    }

    /// A field that must be there.
    pub(crate) fn req<T: Read>(&self, key: &str) -> Result<T> {
        match self.get(key) {
            Some(node) => T::read(node),
            None => Err(Shape { message: format!("missing field `{key}`"), span: self.span.clone() }),
        }
    }

    /// A field that may be left out.
    pub(crate) fn opt<T: Read>(&self, key: &str) -> Result<Option<T>> {
        self.get(key).map(T::read).transpose()
    }

    /// A field that is its type's default when left out.
    pub(crate) fn or_default<T: Read + Default>(&self, key: &str) -> Result<T> {
        Ok(self.opt(key)?.unwrap_or_default())
    }
}

/// One of the words in `choices`, as its value.
pub(crate) fn variant<T: Copy>(node: &Node<'_>, choices: &[(&str, T)]) -> Result<T> {
    let expected = || one_of(&choices.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    let DeValue::String(word) = node.get_ref() else {
        return Err(invalid(node, &expected()));
    };
    match choices.iter().find(|(n, _)| *n == word.as_ref()) {
        Some((_, value)) => Ok(*value),
        None => Err(Shape { message: format!("unknown variant `{word}`, expected {}", expected()), span: node.span() }),
    }
}

/// An integer node as written (any radix), as `i128`.
pub(crate) fn integer(node: &Node<'_>) -> Result<i128> {
    match node.get_ref() {
        DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
            .map_err(|_| Shape { message: format!("integer `{i}` is out of range"), span: node.span() }),
        _ => Err(invalid(node, "an integer")),
    }
}

/// An integer node as written, as `i64`; `out_of_range` is the message beyond.
pub(crate) fn whole(node: &Node<'_>, out_of_range: impl FnOnce() -> String) -> Result<i64> {
    i64::try_from(integer(node)?).map_err(|_| Shape { message: out_of_range(), span: node.span() })
}

impl Read for String {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(invalid(node, "a string")),
        }
    }
}

impl Read for bool {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(invalid(node, "a boolean")),
        }
    }
}

impl Read for i64 {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::Integer(i) => whole(node, || format!("integer `{i}` is out of range")),
            _ => Err(invalid(node, "i64")),
        }
    }
}

/// A decimal as written: the string, integer or float (its text); `load`
/// turns it into a checked [`rust_decimal::Decimal`].
impl Read for Number {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::String(s) => Ok(Number::Str(s.to_string())),
            DeValue::Integer(_) => integer(node).map(Number::Int),
            DeValue::Float(f) => Ok(Number::Literal(f.as_str().to_string())),
            _ => Err(invalid(node, "a decimal number, as a string (\"0.25\") or an integer")),
        }
    }
}

impl<T: Read> Read for Spanned<T> {
    fn read(node: &Node<'_>) -> Result<Self> {
        Ok(Spanned::new(node.span(), T::read(node)?))
    }
}

impl<T: Read> Read for Vec<T> {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            // A plain loop: `collect` into a `Result` instantiates an
            // adapter per element type, each a copy in the module.
            DeValue::Array(items) => {
                // An element that cannot be read is noted, and the others
                // are still read: every problem of a file in one run.
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match T::read(item) {
                        Ok(v) => out.push(v),
                        Err(e) => note(e),
                    }
                }
                Ok(out)
            }
            _ => Err(invalid(node, "a sequence")),
        }
    }
}

/// A table of names to values in name order (the parser has already
/// refused duplicate keys), names with their spans. A list rather than a map: documents
/// are walked, never searched, and every `BTreeMap` type would cost the
/// WebAssembly module its own copy of the tree code.
#[derive(Debug)]
pub(crate) struct Entries<T>(Vec<(Spanned<String>, T)>);

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<T> Entries<T> {
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.0.iter().map(|(k, _)| k)
    }
}

impl<'a, T> IntoIterator for &'a Entries<T> {
    type Item = &'a (Spanned<String>, T);
    type IntoIter = std::slice::Iter<'a, (Spanned<String>, T)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T: Read> Read for Entries<T> {
    fn read(node: &Node<'_>) -> Result<Self> {
        match node.get_ref() {
            DeValue::Table(table) => {
                let mut out = Vec::with_capacity(table.len());
                for (k, v) in table {
                    match T::read(v) {
                        Ok(v) => out.push((Spanned::new(k.span(), k.get_ref().to_string()), v)),
                        Err(e) => note(e),
                    }
                }
                Ok(Entries(out))
            }
            _ => Err(invalid(node, "a map")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Doc {
        name: String,
        count: Option<i64>,
        tags: Vec<String>,
        on: bool,
    }

    impl Read for Doc {
        fn read(node: &Node<'_>) -> Result<Self> {
            let t = Table::new(node, &["name", "count", "tags", "on"])?;
            Ok(Doc {
                name: t.req("name")?,
                count: t.opt("count")?,
                tags: t.or_default("tags")?,
                on: t.or_default("on")?,
            })
        }
    }

    fn err(text: &str) -> (String, String) {
        let e = document::<Doc>(text).unwrap_err().remove(0);
        (e.message, text[e.span].to_string())
    }

    /// Every problem of a document in one run: every unknown field, and a
    /// bad element of a list does not stop its siblings. (Within one table,
    /// reading stops at its first field of the wrong type.)
    #[test]
    fn every_shape_problem_is_reported_not_only_the_first() {
        let text = "name = 5\nextra = 1\nother = 2\n";
        let problems: Vec<(String, String)> =
            document::<Doc>(text).unwrap_err().into_iter().map(|e| (e.message, text[e.span].to_string())).collect();
        assert_eq!(
            problems,
            [
                ("invalid type: integer `5`, expected a string".to_string(), "5".to_string()),
                ("unknown field `extra`, expected one of `name`, `count`, `tags`, `on`".into(), "extra".into()),
                ("unknown field `other`, expected one of `name`, `count`, `tags`, `on`".into(), "other".into()),
            ]
        );
        let list = "[[docs]]\nname = 1\n[[docs]]\nname = \"ok\"\n[[docs]]\nname = \"b\"\ntags = [\"a\", 3, true]\n";
        let e = Entries::<Vec<Doc>>::read(&{
            let (span, table) = {
                let root = DeTable::parse(list).unwrap();
                (root.span(), root.into_inner())
            };
            Spanned::new(span, DeValue::Table(table))
        });
        assert!(e.is_ok());
        let noted = FOUND.with(|f| std::mem::take(&mut *f.borrow_mut()));
        let messages: Vec<&str> = noted.iter().map(|s| s.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "invalid type: integer `1`, expected a string",
                "invalid type: integer `3`, expected a string",
                "invalid type: boolean `true`, expected a string",
            ]
        );
        // Syntax: every error the toml crate recovers past.
        let syntax = document::<Doc>("name = \"a\"\nx = = 1\ny = [1,\n").unwrap_err();
        assert!(syntax.len() >= 2, "{syntax:?}");
    }

    #[test]
    fn reads_fields_with_defaults() {
        let d: Doc = document("name = \"a\"\ncount = 0x10\n").unwrap();
        assert_eq!(d, Doc { name: "a".into(), count: Some(16), tags: vec![], on: false });
    }

    #[test]
    fn each_shape_problem_points_at_its_place() {
        assert_eq!(err("name = 5"), ("invalid type: integer `5`, expected a string".into(), "5".into()));
        assert_eq!(
            err("name = \"a\"\nextra = 1"),
            ("unknown field `extra`, expected one of `name`, `count`, `tags`, `on`".into(), "extra".into())
        );
        assert_eq!(err("count = 1").0, "missing field `name`");
        assert_eq!(
            err("name = \"a\"\ncount = 99999999999999999999").0,
            "integer `99999999999999999999` is out of range"
        );
        assert_eq!(err("name = \"a\"\ntags = \"x\"").0, "invalid type: string \"x\", expected a sequence");
        assert_eq!(err("name = \"a\"\non = 1.5").0, "invalid type: floating point `1.5`, expected a boolean");
        assert_eq!(err("name = ").1, "");
    }

    #[test]
    fn quoted_text_is_debug_text_but_for_unprintable_characters() {
        for s in ["", "plain", "a\"b\\c", "tab\there\n\r", "é ü 😀", "\u{1}\u{7f}\0\u{9f}", "'single'"] {
            assert_eq!(quoted(s), format!("{s:?}"), "{s}");
        }
        // Debug escapes a zero-width space; the message keeps it.
        assert_eq!(quoted("a\u{200b}b"), "\"a\u{200b}b\"");
        assert_ne!(quoted("a\u{200b}b"), format!("{:?}", "a\u{200b}b"));
    }

    #[test]
    fn variants_name_the_choices() {
        let node = Node::new(0..3, DeValue::String("odd".into()));
        let e = variant(&node, &[("a", 1), ("b", 2), ("c", 3)]).unwrap_err();
        assert_eq!(e.message, "unknown variant `odd`, expected one of `a`, `b`, `c`");
        let e = variant(&node, &[("a", 1), ("b", 2)]).unwrap_err();
        assert_eq!(e.message, "unknown variant `odd`, expected `a` or `b`");
    }
}
