//! The run directory: the contract between the engine that writes a run and everything that
//! reads one (the analysis, the `llmw` trace reader, the fuzz targets). `layout` names its files,
//! `record` its rows.

pub mod layout;
pub mod manifest;
pub mod probe;
pub mod record;
pub mod tables;
