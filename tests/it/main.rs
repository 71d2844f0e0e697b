//! One integration-test binary (faster to link than one per file).

mod architecture;
mod azurehound;
mod cli;
mod demo;
mod diff;
mod docs;
mod export;
mod facts;
mod hostile;
mod labs;
mod queries;
mod secrets;
mod snapshots;
mod store;
mod support;
