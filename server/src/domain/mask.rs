//! Update masks (AIP-134): which fields of an incoming resource replace the stored ones.
//!
//! - empty mask: every mutable field that is populated in the request;
//! - `*`: every mutable field (a full replacement; unset fields are cleared);
//! - explicit paths: exactly those; output-only, immutable and unknown paths are rejected.
//!
//! Immutable fields may be echoed back unchanged (a client that sends a whole resource it read),
//! but never changed.

use super::{Error, Violations};

/// A resource's mutable fields, as the mask sees them.
pub trait Patch {
    /// Paths that can be updated.
    const MUTABLE: &'static [&'static str];
    /// Paths set once at creation.
    const IMMUTABLE: &'static [&'static str];
    /// Paths only the server sets.
    const OUTPUT_ONLY: &'static [&'static str];

    /// Copies field `path` (one of `MUTABLE`) from `from`.
    fn copy_field(&mut self, from: &Self, path: &str);
    /// Whether field `path` holds a non-default value.
    fn populated(&self, path: &str) -> bool;
    /// Whether immutable field `path` differs between the two (when set in `from`).
    fn immutable_changed(&self, from: &Self, path: &str) -> bool;
}

/// Applies `incoming` onto `current` as `paths` says. Violations name `update_mask` or the
/// immutable field under `prefix`.
pub fn apply<T: Patch>(
    current: &mut T,
    incoming: &T,
    paths: &[String],
    prefix: &str,
) -> Result<(), Error> {
    let mut v = Violations::new();
    let check_immutable = |v: &mut Violations| {
        for p in T::IMMUTABLE {
            if current.immutable_changed(incoming, p) {
                v.add(
                    format!("{prefix}.{p}"),
                    "is immutable and cannot be changed",
                );
            }
        }
    };
    let paths: Vec<&str> = paths.iter().map(|p| p.trim()).collect();
    match paths.as_slice() {
        [] => {
            check_immutable(&mut v);
            v.finish(())?;
            for p in T::MUTABLE {
                if incoming.populated(p) {
                    current.copy_field(incoming, p);
                }
            }
        }
        ["*"] => {
            check_immutable(&mut v);
            v.finish(())?;
            for p in T::MUTABLE {
                current.copy_field(incoming, p);
            }
        }
        many => {
            for (i, p) in many.iter().enumerate() {
                let field = format!("update_mask.paths[{i}]");
                if *p == "*" {
                    v.add(field, "`*` must be the only path");
                } else if T::OUTPUT_ONLY.contains(p) {
                    v.add(field, format!("`{p}` is output only"));
                } else if T::IMMUTABLE.contains(p) {
                    v.add(field, format!("`{p}` is immutable"));
                } else if !T::MUTABLE.contains(p) {
                    v.add(
                        field,
                        format!("unknown field `{p}`; updatable: {}", T::MUTABLE.join(", ")),
                    );
                } else if many[..i].contains(p) {
                    v.add(field, format!("`{p}` is repeated"));
                }
            }
            v.finish(())?;
            for p in many {
                current.copy_field(incoming, p);
            }
        }
    }
    Ok(())
}
