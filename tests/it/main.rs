//! One integration-test binary (faster to link than one per file).

mod architecture;
mod azurehound;
mod bench;
mod cli;
mod demo;
mod diff;
mod docs;
mod export;
mod facts;
mod fix;
mod fuzz;
mod hostile;
mod interop;
mod labs;
mod queries;
mod secrets;
mod snapshots;
mod store;
mod support;
