//! Categories: stable codes under which persons were prioritised.

use super::{
    CategoryKind, Error, Meta, Violations,
    schema::{Declared, Field, Schema, access, enum_access},
    text,
};

/// A category code: `^[a-z0-9][a-z0-9-]{0,62}$`. Codes are how exchanges and persons refer to
/// categories, so they never change once created.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

impl Code {
    pub fn parse(s: &str) -> Result<Code, String> {
        let s = s.trim();
        let mut chars = s.chars();
        let Some(first) = chars.next() else {
            return Err("is required".into());
        };
        if s.chars().count() > text::CODE_MAX {
            return Err(format!("must be at most {} characters", text::CODE_MAX));
        }
        let ok_first = first.is_ascii_lowercase() || first.is_ascii_digit();
        let ok_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok_first || !ok_rest {
            return Err(format!(
                "{s:?} must match ^[a-z0-9][a-z0-9-]{{0,62}}$ (lowercase letters, digits and '-')"
            ));
        }
        Ok(Code(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// What a client can write about a category.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize))]
pub struct CategoryFields {
    pub code: String,
    pub title: String,
    pub description: String,
    pub kind: CategoryKind,
}

/// A stored category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub meta: Meta,
    pub fields: CategoryFields,
}

impl CategoryFields {
    /// Trims and checks every field; violations name fields relative to the category.
    pub fn validate(mut self) -> Result<Self, Error> {
        let mut v = Violations::new();
        match Code::parse(&self.code) {
            Ok(code) => self.code = code.into_string(),
            Err(e) => v.add("code", e),
        }
        text::line(&mut v, "title", &mut self.title, text::NAME_MAX, true);
        text::long(&mut v, "description", &mut self.description);
        v.finish(self)
    }
}

/// The declaration of a category's fields (see `schema`).
pub const CATEGORY: Schema<CategoryFields> = Schema {
    resource: "categories",
    singular: "category",
    fields: &[
        Field::new("code", access!(Text, CategoryFields, code)).immutable(),
        Field::new("title", access!(Text, CategoryFields, title)),
        Field::new("description", access!(Text, CategoryFields, description)).unfiltered(),
        Field::new("kind", enum_access!(CategoryFields, CategoryKind, kind)),
    ],
    derived: &[],
};

impl Declared for CategoryFields {
    const SCHEMA: &'static Schema<Self> = &CATEGORY;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(code: &str, title: &str) -> CategoryFields {
        CategoryFields {
            code: code.into(),
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn codes_with_uppercase_letters_are_rejected() {
        assert!(Code::parse("Under-25").is_err());
    }

    #[test]
    fn codes_may_not_start_with_a_dash_or_exceed_63_characters() {
        assert!(Code::parse("-x").is_err());
        assert!(Code::parse(&"a".repeat(63)).is_ok());
        assert!(Code::parse(&"a".repeat(64)).is_err());
        assert!(Code::parse("under-25").is_ok());
        assert!(Code::parse("").is_err());
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let Err(Error::InvalidArgument(list)) = fields("BAD", "  ").validate() else {
            panic!("expected invalid argument");
        };
        let names: Vec<_> = list.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(names, ["code", "title"]);
    }

    #[test]
    fn whitespace_around_titles_is_trimmed() {
        let ok = fields("civilian", "  Civilians ").validate().ok();
        assert_eq!(ok.map(|f| f.title), Some("Civilians".to_owned()));
    }

    #[test]
    fn an_empty_mask_updates_only_populated_fields() {
        let mut current = fields("civilian", "Old");
        current.description = "kept".into();
        let incoming = fields("", "New");
        CATEGORY.apply_mask(&mut current, &incoming, &[]).ok();
        assert_eq!(current.title, "New");
        assert_eq!(current.description, "kept");
    }

    #[test]
    fn immutable_and_output_only_paths_are_rejected() {
        let mut current = fields("civilian", "Old");
        let incoming = fields("other", "New");
        assert!(
            CATEGORY
                .apply_mask(&mut current, &incoming, &["code".into()])
                .is_err()
        );
        assert!(
            CATEGORY
                .apply_mask(&mut current, &incoming, &["etag".into()])
                .is_err()
        );
        assert!(
            CATEGORY
                .apply_mask(&mut current, &incoming, &["nope".into()])
                .is_err()
        );
        assert!(CATEGORY.apply_mask(&mut current, &incoming, &[]).is_err());
        let same_code = fields("civilian", "New");
        assert!(CATEGORY.apply_mask(&mut current, &same_code, &[]).is_ok());
    }

    #[test]
    fn declarations_cover_every_field() {
        crate::domain::schema::tests::assert_covers(&CATEGORY);
    }
}
