//! Text rules shared by every resource: trimming, length limits in characters, no control
//! characters (PostgreSQL rejects NUL, and none belongs in a name).

use super::Violations;

pub const CODE_MAX: usize = 63;
pub const NAME_MAX: usize = 200;
pub const LONG_MAX: usize = 10_000;
pub const URL_MAX: usize = 2_000;
pub const REPEATED_MAX: usize = 50;

/// One-line text: trimmed; `required` means non-empty after trimming.
pub fn line(v: &mut Violations, field: &str, value: &mut String, max: usize, required: bool) {
    trim_in_place(value);
    if value.is_empty() {
        if required {
            v.add(field, "is required");
        }
        return;
    }
    let n = value.chars().count();
    if n > max {
        v.add(field, format!("must be at most {max} characters (got {n})"));
    }
    if value.chars().any(char::is_control) {
        v.add(field, "must not contain control characters");
    }
}

/// Checks the count of a repeated field (at most 50); returns whether its entries may be
/// looked at.
pub fn count(v: &mut Violations, field: &str, n: usize) -> bool {
    if n > REPEATED_MAX {
        v.add(
            field,
            format!("must have at most {REPEATED_MAX} entries (got {n})"),
        );
        return false;
    }
    true
}

/// Whether a value is printable text a store accepts (no NUL or other control characters).
pub fn printable(value: &str) -> bool {
    !value.chars().any(char::is_control)
}

/// Multi-line text (notes, descriptions): trimmed; newlines and tabs allowed.
pub fn long(v: &mut Violations, field: &str, value: &mut String) {
    trim_in_place(value);
    let n = value.chars().count();
    if n > LONG_MAX {
        v.add(
            field,
            format!("must be at most {LONG_MAX} characters (got {n})"),
        );
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        v.add(
            field,
            "must not contain control characters other than newlines and tabs",
        );
    }
}

/// A repeated text field: at most 50 entries, each a valid line, no duplicates. The count is
/// checked first: too many entries are one violation, and their content is not looked at.
/// Returns whether the count was within the limit (callers check the entries further only
/// then).
pub fn entries(v: &mut Violations, field: &str, values: &mut [String], max: usize) -> bool {
    if values.len() > REPEATED_MAX {
        v.add(
            field,
            format!(
                "must have at most {REPEATED_MAX} entries (got {})",
                values.len()
            ),
        );
        return false;
    }
    let mut seen = std::collections::HashSet::with_capacity(values.len());
    for (i, value) in values.iter_mut().enumerate() {
        let name = format!("{field}[{i}]");
        line(v, &name, value, max, true);
        if !value.is_empty() && !seen.insert(value.clone()) {
            v.add(name, format!("duplicates an earlier entry {value:?}"));
        }
    }
    true
}

fn trim_in_place(value: &mut String) {
    let t = value.trim();
    if t.len() != value.len() {
        *value = t.to_owned();
    }
}
