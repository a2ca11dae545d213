//! What the ledger's tests share: the throwaway PostgreSQL cluster and the
//! scenario corpus's runner.

#![allow(dead_code)]

mod cluster;
pub mod scenario;

#[allow(unused_imports)]
pub use cluster::Cluster;
