//! Safe reload for long-running services: a shareable handle whose engine
//! can be swapped atomically. A reload that fails to load keeps the old
//! engine serving and returns every problem. A [`Follower`] watches the
//! files an engine came from (folders of rate and policy files, or a
//! bundle) and reloads when they change.

use crate::engine::{Engine, Sources};
use crate::error::{BundleError, LoadError};
use arc_swap::ArcSwap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

/// A shareable, reloadable engine (built on `arc-swap`): readers take a
/// snapshot with [`SharedEngine::load`] — lock-free — and answer from it,
/// so every answer of one request comes from one consistent engine, even
/// while another thread reloads.
#[derive(Debug)]
pub struct SharedEngine {
    current: ArcSwap<Engine>,
}

impl SharedEngine {
    /// A handle serving `engine`.
    pub fn new(engine: Engine) -> Self {
        SharedEngine { current: ArcSwap::from_pointee(engine) }
    }

    /// The engine serving now. Keep the snapshot for the whole request.
    pub fn load(&self) -> Arc<Engine> {
        self.current.load_full()
    }

    /// Loads `sources` and, only if they load without a problem, swaps the
    /// new engine in. On error the serving engine is untouched.
    pub fn reload(&self, sources: Sources) -> Result<(), LoadError> {
        let engine = Engine::from_sources(sources)?;
        self.current.store(Arc::new(engine));
        Ok(())
    }

    /// Swaps in an engine loaded elsewhere.
    pub fn replace(&self, engine: Engine) {
        self.current.store(Arc::new(engine));
    }

    /// Reloads from what `follower` follows if its files changed since the
    /// follower last looked: `Ok(true)` when a new engine serves, `Ok(false)`
    /// when nothing changed, and the reason when the changed files do not
    /// load — the serving engine is then kept (and the same files are not
    /// tried again until they change again).
    pub fn follow(&self, follower: &mut Follower) -> Result<bool, ReloadError> {
        let stamp = follower.stamp()?;
        if follower.seen.as_ref() == Some(&stamp) {
            return Ok(false);
        }
        follower.seen = Some(stamp);
        let engine = match &follower.what {
            Followed::Dirs { rates, policies } => Engine::from_dirs(rates, policies).map_err(ReloadError::Load)?,
            Followed::Bundle(path) => {
                let bytes = std::fs::read(path).map_err(|e| ReloadError::Io(format!("{}: {e}", path.display())))?;
                Engine::from_bundle(&bytes).map_err(ReloadError::Bundle)?
            }
        };
        self.replace(engine);
        Ok(true)
    }

    /// Follows on a thread of its own: every `interval`, [`SharedEngine::follow`],
    /// each outcome but "unchanged" handed to `report` (log it). The thread
    /// ends when the last handle to the engine is dropped.
    pub fn follow_every(
        self: &Arc<Self>,
        mut follower: Follower,
        interval: Duration,
        mut report: impl FnMut(Result<bool, ReloadError>) + Send + 'static,
    ) -> std::thread::JoinHandle<()> {
        let weak: Weak<SharedEngine> = Arc::downgrade(self);
        std::thread::spawn(move || {
            while let Some(shared) = weak.upgrade() {
                match shared.follow(&mut follower) {
                    Ok(false) => {}
                    outcome => report(outcome),
                }
                drop(shared);
                std::thread::sleep(interval);
            }
        })
    }
}

/// What a [`Follower`] follows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Followed {
    Dirs { rates: PathBuf, policies: PathBuf },
    Bundle(PathBuf),
}

/// The files an engine came from, and how they looked when last loaded:
/// each file's path, size and modification time.
#[derive(Debug, Clone)]
pub struct Follower {
    what: Followed,
    seen: Option<Vec<(PathBuf, u64, Option<SystemTime>)>>,
}

impl Follower {
    /// Follows the `*.toml` files of a rates folder and a policies folder.
    /// The first [`SharedEngine::follow`] loads them.
    pub fn dirs(rates: impl AsRef<Path>, policies: impl AsRef<Path>) -> Follower {
        let what = Followed::Dirs { rates: rates.as_ref().to_path_buf(), policies: policies.as_ref().to_path_buf() };
        Follower { what, seen: None }
    }

    /// Follows a bundle file (`tollgate build`). The first
    /// [`SharedEngine::follow`] loads it.
    pub fn bundle(path: impl AsRef<Path>) -> Follower {
        Follower { what: Followed::Bundle(path.as_ref().to_path_buf()), seen: None }
    }

    /// How the followed files look now, in path order.
    fn stamp(&self) -> Result<Vec<(PathBuf, u64, Option<SystemTime>)>, ReloadError> {
        let mut paths = Vec::new();
        let mut add_dir = |dir: &Path| -> Result<(), ReloadError> {
            if dir.is_file() {
                paths.push(dir.to_path_buf());
                return Ok(());
            }
            let io = |e: std::io::Error| ReloadError::Io(format!("{}: {e}", dir.display()));
            for entry in std::fs::read_dir(dir).map_err(io)? {
                let path = entry.map_err(io)?.path();
                if path.extension().is_some_and(|x| x == "toml") {
                    paths.push(path);
                }
            }
            Ok(())
        };
        match &self.what {
            Followed::Dirs { rates, policies } => {
                add_dir(rates)?;
                add_dir(policies)?;
            }
            Followed::Bundle(path) => paths.push(path.clone()),
        }
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let meta = std::fs::metadata(&p).map_err(|e| ReloadError::Io(format!("{}: {e}", p.display())))?;
                Ok((p, meta.len(), meta.modified().ok()))
            })
            .collect()
    }
}

/// Why a followed reload kept the serving engine.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The rate and policy files do not load (every problem).
    #[error(transparent)]
    Load(LoadError),
    /// The bundle cannot be read.
    #[error(transparent)]
    Bundle(BundleError),
    /// A followed file or folder could not be read.
    #[error("cannot read {0}")]
    Io(String),
}
