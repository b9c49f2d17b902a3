//! Importing rosters: how rows match stored persons, and what became of each row.
//!
//! A row names the person it is about by its id (an exported row), else by the request's
//! match rule: one of its external ids (the default), its service number, or family name,
//! given name and date of birth together. A matched row updates the fields it carries (or the
//! request's update mask); an unmatched one creates a person. See `store::import`.

use serde::{Deserialize, Serialize};

use super::{Error, FieldViolation, PersonFields};

/// How rows without an id find the person they are about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum MatchRule {
    /// Any of the row's external ids (a row needs one).
    #[default]
    ExternalId,
    /// The service number (a row needs one).
    ServiceNumber,
    /// Family name, given name and date of birth, exactly as written (a row needs all three).
    NameAndDateOfBirth,
}

/// All rows or none, or each row on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub enum ImportMode {
    /// One transaction: a failed row fails the call and nothing is written.
    #[default]
    AllOrNothing,
    /// Good rows are written (in one transaction), failed rows reported.
    PerRow,
}

/// One row as the request carries it: its fields after conversion (not yet validated: what a
/// row must hold depends on whether it matches), the person's id if the row names one, and
/// what the conversion already found wrong (then the row fails).
#[derive(Debug, Clone, Default)]
pub struct ImportRow {
    pub id: Option<String>,
    pub fields: PersonFields,
    pub violations: Vec<FieldViolation>,
}

/// What became of a row (or would have, when nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Failed,
}

/// One row's result, in request order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowResult {
    pub outcome: Outcome,
    /// The person written or matched; empty for a failed row and for a row that would have
    /// been created when nothing was written.
    pub person_id: String,
    /// Why the row failed, each naming `persons[i].field`.
    pub violations: Vec<(String, String)>,
}

impl RowResult {
    pub fn failed(violations: Vec<FieldViolation>) -> Self {
        Self {
            outcome: Outcome::Failed,
            person_id: String::new(),
            violations: violations
                .into_iter()
                .map(|v| (v.field, v.description))
                .collect(),
        }
    }

    /// A row that failed with `e`: its field violations, or the error as one violation on
    /// `field`.
    pub fn failed_with(field: &str, e: Error) -> Self {
        match e {
            Error::InvalidArgument(list) => Self::failed(list),
            e => Self::failed(vec![FieldViolation {
                field: field.to_owned(),
                description: e.to_string(),
            }]),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub results: Vec<RowResult>,
    /// Whether the rows' changes were written: false for `validate_only`, and for an
    /// all-or-nothing import with a failed row.
    pub written: bool,
    /// The revision that wrote them (0 when nothing was written).
    pub revision: i64,
}

impl ImportReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }
}
