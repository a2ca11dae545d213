//! Named sources and positions: byte spans turned into line:column at the edge.

use std::fmt;
use std::sync::Arc;

/// One named text the engine loads: a rate or policy file, or a request.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) name: Arc<str>,
    pub(crate) text: Arc<str>,
    /// Byte offsets of line starts, built on first use: locating a span is
    /// then a binary search, so locating every rule of a large file stays
    /// linear overall.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl Source {
    pub(crate) fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        Source { name: name.into(), text: text.into(), line_starts: std::sync::OnceLock::new() }
    }

    /// The location of a byte span of this source.
    pub(crate) fn locate(&self, span: std::ops::Range<usize>) -> Location {
        let starts = self
            .line_starts
            .get_or_init(|| std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect());
        let start = span.start.min(self.text.len());
        let line = starts.partition_point(|&s| s <= start).max(1);
        let line_start = starts.get(line - 1).copied().unwrap_or(0);
        let column = self.text.get(line_start..start).map_or(0, |t| t.chars().count()) + 1;
        Location {
            file: Arc::clone(&self.name),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            span,
        }
    }
}

/// Where something is in a named source: file (or source) name, 1-based line
/// and column (columns count characters), and the byte span.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    file: Arc<str>,
    line: u32,
    column: u32,
    span: std::ops::Range<usize>,
}

/// A location as a bundle holds it: the file without the folders it was
/// read from (`roles.toml`, not `/srv/app/policies/roles.toml`), line and
/// column, and no byte span (a bundle holds no text to point into). So the
/// same files compiled anywhere give the same bundle and fingerprint.
#[derive(serde::Serialize, serde::Deserialize)]
struct Bundled<'a> {
    #[serde(borrow)]
    file: std::borrow::Cow<'a, str>,
    line: u32,
    column: u32,
}

impl serde::Serialize for Location {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let base = self.file.rsplit(['/', '\\']).next().unwrap_or(&self.file);
        Bundled { file: base.into(), line: self.line, column: self.column }.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = Bundled::deserialize(d)?;
        Ok(Location { file: interned(&b.file), line: b.line, column: b.column, span: 0..0 })
    }
}

std::thread_local! {
    /// The file names of the bundle being read: a bundle names a handful of
    /// files in thousands of locations, which then share one `Arc` each.
    static FILES: std::cell::RefCell<Vec<Arc<str>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The shared `Arc` of a file name of the bundle being read.
fn interned(name: &str) -> Arc<str> {
    FILES.with(|files| {
        let mut files = files.borrow_mut();
        if let Some(file) = files.iter().find(|f| &***f == name) {
            return file.clone();
        }
        let file: Arc<str> = Arc::from(name);
        // A bundle of many files (up to the bound on sources) is still read;
        // past a few, names are no longer shared.
        if files.len() < 64 {
            files.push(file.clone());
        }
        file
    })
}

/// Runs `read` with file names shared among its locations, then forgets them.
pub(crate) fn sharing_file_names<T>(read: impl FnOnce() -> T) -> T {
    FILES.with(|files| files.borrow_mut().clear());
    let out = read();
    FILES.with(|files| files.borrow_mut().clear());
    out
}

impl Location {
    pub(crate) fn new(file: &Arc<str>, text: &str, span: std::ops::Range<usize>) -> Self {
        let start = span.start.min(text.len());
        let before = text.get(..start).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).unwrap_or("").chars().count() + 1;
        Location {
            file: Arc::clone(file),
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
            span,
        }
    }

    /// The file or source name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// 1-based line number.
    pub fn line(&self) -> u32 {
        self.line
    }

    /// 1-based column, in characters.
    pub fn column(&self) -> u32 {
        self.column
    }

    /// Byte range in the source text.
    pub fn span(&self) -> std::ops::Range<usize> {
        self.span.clone()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_one_based_and_count_characters() {
        let name: Arc<str> = Arc::from("a.toml");
        let text = "x = 1\né = \"y\" # z\n";
        assert_eq!(Location::new(&name, text, 0..1).to_string(), "a.toml:1:1");
        let y = text.find("\"y\"").unwrap_or(0);
        assert_eq!(Location::new(&name, text, y..y + 3).to_string(), "a.toml:2:5");
        // A span past the end clamps instead of panicking.
        assert_eq!(Location::new(&name, text, 999..1000).line(), 3);
    }

    #[test]
    fn indexed_locate_agrees_with_the_direct_count() {
        let text = "a\n\nbé = 1\n  c = \"x\"\nlast";
        let src = Source::new("f.toml", text);
        for start in 0..=text.len() + 2 {
            if !text.is_char_boundary(start.min(text.len())) {
                continue;
            }
            let direct = Location::new(&src.name, text, start..start);
            assert_eq!(src.locate(start..start), direct, "offset {start}");
        }
    }
}
