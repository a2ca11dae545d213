//! Safe reload for long-running services: a shareable handle whose engine
//! can be swapped atomically. A reload that fails to load keeps the old
//! engine serving and returns every problem.

use crate::engine::{Engine, Sources};
use crate::error::LoadError;
use arc_swap::ArcSwap;
use std::sync::Arc;

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
}
