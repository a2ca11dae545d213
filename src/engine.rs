//! The engine: built once from sources, immutable, `Send + Sync`.

use crate::error::{EstimateError, LoadError, LoadProblem, LoadProblemKind};
use crate::estimate::Estimate;
use crate::rates::{RateCard, RateSheet};
use crate::run::Run;
use crate::source::Source;
use std::path::Path;
use std::sync::Arc;

/// The shipped `rates/`, compiled in. A test checks this list matches the
/// folder, so a new file cannot be forgotten.
const EMBEDDED_RATES: &[(&str, &str)] = &[
    ("image.toml", include_str!("../rates/image.toml")),
    ("text.toml", include_str!("../rates/text.toml")),
    ("tools.toml", include_str!("../rates/tools.toml")),
    ("video.toml", include_str!("../rates/video.toml")),
];

/// The named texts an [`Engine`] is built from.
///
/// Sources are read in file-name order, whatever order they were added in.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    rates: Vec<Source>,
}

impl Sources {
    /// No sources at all.
    pub fn new() -> Self {
        Sources::default()
    }

    /// The shipped defaults, compiled into the library.
    pub fn embedded() -> Self {
        Sources {
            rates: EMBEDDED_RATES
                .iter()
                .map(|(n, t)| Source::new(*n, *t))
                .collect(),
        }
    }

    /// Adds one rate file's text under `name` (used in error positions).
    pub fn rates(mut self, name: &str, text: &str) -> Self {
        self.rates.push(Source::new(name, text));
        self
    }

    /// Replaces the rate sources with every `*.toml` file of a folder.
    pub fn rates_dir(mut self, dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        self.rates = read_dir(dir.as_ref())?;
        Ok(self)
    }

    fn sorted(mut list: Vec<Source>) -> Vec<Source> {
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }
}

/// Every `*.toml` of a folder, sorted by file name.
fn read_dir(dir: &Path) -> Result<Vec<Source>, LoadError> {
    let io = |path: &Path, e: std::io::Error| {
        let kind = LoadProblemKind::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        LoadError::new(vec![LoadProblem::new(kind, None)])
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_file() && path.extension().is_some_and(|x| x == "toml") {
            paths.push(path);
        }
    }
    if paths.is_empty() {
        let kind = LoadProblemKind::EmptyFolder {
            path: dir.display().to_string(),
        };
        return Err(LoadError::new(vec![LoadProblem::new(kind, None)]));
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).map_err(|e| io(&p, e))?;
            Ok(Source::new(p.display().to_string(), text))
        })
        .collect()
}

/// The policy-and-rating engine: loaded once, then every call is a pure
/// function of its inputs. Cheap to clone and share across threads.
#[derive(Debug, Clone)]
pub struct Engine {
    rates: Arc<RateCard>,
}

impl Engine {
    /// The engine on the shipped defaults.
    pub fn embedded() -> Result<Engine, LoadError> {
        Engine::from_sources(Sources::embedded())
    }

    /// An engine on the given sources. Fails with every problem found.
    pub fn from_sources(sources: Sources) -> Result<Engine, LoadError> {
        let rates = crate::rates::load(&Sources::sorted(sources.rates))?;
        Ok(Engine {
            rates: Arc::new(rates),
        })
    }

    /// An engine on the `*.toml` files of a rates folder.
    pub fn from_rates_dir(rates: impl AsRef<Path>) -> Result<Engine, LoadError> {
        Engine::from_sources(Sources::new().rates_dir(rates)?)
    }

    /// What a run will cost (SPEC §2).
    pub fn estimate(&self, run: &Run) -> Result<Estimate<'_>, EstimateError> {
        self.rates.estimate(run)
    }

    /// Every rate, as reference tables.
    pub fn rate_sheet(&self) -> RateSheet {
        self.rates.sheet()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_matches_the_rates_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rates");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = EMBEDDED_RATES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn engine_is_send_sync_and_cheap_to_clone() {
        fn check<T: Send + Sync + Clone>() {}
        check::<Engine>();
    }
}
