//! One trace file being read ([`Reader`]): the rows kept, a bad row failed on or skipped and
//! counted (a few quoted), each row's conversation numbered in order of first appearance, and
//! the generic formats' column mapping.

use std::path::Path;

use super::cells::RowError;
use super::ReadOptions;
use crate::trace::{Row, Trace, TraceError};

/// How many skipped rows are quoted in the report.
const EXAMPLES: usize = 5;

pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
    pub(super) opts: &'a ReadOptions,
    pub(super) trace: Trace,
    /// Session names seen so far and their numbers (in order of first appearance).
    pub(super) sessions: std::collections::BTreeMap<String, u64>,
}

/// The names a row gives that the reader numbers: its conversation's and its model's.
#[derive(Default)]
pub(super) struct Names {
    pub session: Option<String>,
    pub model: Option<String>,
}

impl Reader<'_> {
    pub(super) fn file_error(&self, message: impl Into<String>) -> TraceError {
        TraceError::File {
            path: self.path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Keeps a row, or handles its error (skip or fail).
    pub(super) fn push(
        &mut self,
        row: Result<Row, (u64, String, String)>,
    ) -> Result<(), TraceError> {
        match row {
            Ok(r) => {
                self.trace.rows.push(r);
                Ok(())
            }
            Err((line, field, message)) => {
                let e = TraceError::Row {
                    path: self.path.to_path_buf(),
                    line,
                    field,
                    message,
                };
                if !self.opts.skip_bad_rows {
                    return Err(e);
                }
                self.trace.skipped += 1;
                if self.trace.skipped_examples.len() < EXAMPLES {
                    self.trace.skipped_examples.push(e.to_string());
                }
                Ok(())
            }
        }
    }

    /// Keeps a row of the conversation and model it names, numbering conversations and
    /// models in order of first appearance; or handles its error.
    pub(super) fn push_in_session(
        &mut self,
        row: Result<(Row, Names), RowError>,
    ) -> Result<(), TraceError> {
        let row = row.map(|(mut row, names)| {
            row.session = names.session.map(|name| {
                let next = self.sessions.len() as u64;
                *self.sessions.entry(name).or_insert(next)
            });
            row.model = names.model.map(|name| self.trace.model_number(&name));
            row
        });
        self.push(row)
    }

    /// A generic format's optional column for `role` (`session`, `turn`, `model`, `api`,
    /// `images`).
    pub(super) fn optional_column(&self, role: &str) -> Option<String> {
        self.opts
            .columns
            .iter()
            .find(|(r, _)| r == role)
            .map(|(_, c)| c.clone())
    }

    /// The generic formats' (at, input, output) column names from the mapping.
    pub(super) fn mapped_columns(&self) -> Result<(String, String, String), TraceError> {
        let get = |role: &str| {
            self.opts
                .columns
                .iter()
                .find(|(r, _)| r == role)
                .map(|(_, c)| c.clone())
                .ok_or_else(|| self.file_error(format!("no column given for '{role}' (columns: {{ at: \"…\", input: \"…\", output: \"…\" }})")))
        };
        Ok((get("at")?, get("input")?, get("output")?))
    }
}
