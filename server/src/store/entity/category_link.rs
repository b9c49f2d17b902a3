//! The two link tables (`exchange_categories`, `person_categories`) have the same shape: an
//! owner id and a category code. They are written with plain insert/delete statements built in
//! `store::links`, so they need no entity of their own beyond their names.

pub const EXCHANGE_CATEGORIES: &str = "exchange_categories";
pub const PERSON_CATEGORIES: &str = "person_categories";

/// Normalised name keys of persons (name search), same shape: `(person_id, key)`.
pub const PERSON_NAME_KEYS: &str = "person_name_keys";
pub const NAME_KEY_COLUMNS: [&str; 2] = ["person_id", "key"];
