//! azpath: a graph-based identity attack-path analyzer for Azure and Entra ID.
//!
//! The pipeline, one module per stage: [`facts`] (Azure's JSON to typed facts) -> [`rules`] (facts
//! to attack edges) -> [`store`] (SQLite snapshots) -> [`graph`] (petgraph, easiest paths) ->
//! [`report`] (text and JSON for people and scripts). See `docs/ARCHITECTURE.md`.

pub mod facts;
pub mod model;
pub mod rbac;
pub mod rules;
