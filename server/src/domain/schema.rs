//! One declaration per resource of its fields, and everything that reads it.
//!
//! A resource's writable fields are declared once, beside its type (`CATEGORY`, `EXCHANGE`,
//! `PERSON`): the API name (an update-mask path, a filter and order name, a key of the stored
//! snapshot; a dot nests, as in `aftercare.payments`), how the value is reached in the struct,
//! whether clients may write it, whether viewers see it, whether filters may name it, and the
//! column that stores it. From that one table come:
//! - update masks: parsed once into a [`Mask`] that every check and the update share, which
//!   paths are mutable, immutable or output only, copying a path, whether a field is populated;
//! - the watch matcher's field values ([`Schema::value`]);
//! - redaction of sensitive fields for viewers ([`Schema::redact`], [`Schema::sensitive`]);
//! - the store's filter and order schema and its row and snapshot codecs (`store`).
//!
//! A field of the struct that is missing from the declaration (or declared but gone from the
//! struct) fails `declarations_cover_every_field` in each resource's tests.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value as Json;

use super::{Error, Meta, Violations, WireEnum};

/// Who may write a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Set by clients on create and update.
    Mutable,
    /// Set on create, never changed (it may be echoed back unchanged).
    Immutable,
    /// Set by the server only.
    OutputOnly,
    /// A name filters accept that is not a field of the resource (`name:"…"`).
    FilterOnly,
}

/// An enum field: its code in the struct and how its names read.
pub struct EnumAccess<T: 'static> {
    pub get: fn(&T) -> i32,
    /// Sets the value with this code; `false` if no value has it.
    pub set: fn(&mut T, i32) -> bool,
    /// A name (short or with the proto prefix) to its code.
    pub parse: fn(&str) -> Option<i32>,
    /// The short name of a code (`RETURNED`).
    pub name: fn(i32) -> &'static str,
    /// Every name a client may write, for error messages.
    pub names: fn() -> String,
}

/// How a field's value is reached in its struct, by the value's type.
pub enum Access<T: 'static> {
    Text(fn(&T) -> &String, fn(&mut T) -> &mut String),
    Int(fn(&T) -> &Option<i32>, fn(&mut T) -> &mut Option<i32>),
    Bool(fn(&T) -> &bool, fn(&mut T) -> &mut bool),
    Date(
        fn(&T) -> &Option<NaiveDate>,
        fn(&mut T) -> &mut Option<NaiveDate>,
    ),
    Enum(EnumAccess<T>),
    /// The id of another resource (a reference); unset is `None`.
    Id(fn(&T) -> &Option<String>, fn(&mut T) -> &mut Option<String>),
    /// Category codes: filters test membership with `:`.
    Codes(fn(&T) -> &Vec<String>, fn(&mut T) -> &mut Vec<String>),
    /// Repeated text that filters do not name.
    List(fn(&T) -> &Vec<String>, fn(&mut T) -> &mut Vec<String>),
    /// A point in time (inside repeated items: when a contact was informed).
    Time(
        fn(&T) -> &Option<DateTime<Utc>>,
        fn(&mut T) -> &mut Option<DateTime<Utc>>,
    ),
    /// Repeated items of a declared type of their own (identity documents, contacts); stored
    /// as JSON, not filtered.
    Items(&'static dyn ItemList<T>),
    /// Normalised name keys computed from other fields (name search); only filters read them.
    Names(fn(&T) -> Vec<String>),
}

/// A list of items whose type is itself declared ([`Items`] is the one implementation); what
/// a schema needs of such a list without knowing the item type.
pub trait ItemList<T>: Sync {
    fn len(&self, f: &T) -> usize;
    fn copy(&self, to: &mut T, from: &T);
    fn clear(&self, f: &mut T);
    fn same(&self, a: &T, b: &T) -> bool;
    /// Clears each item's sensitive fields.
    fn redact(&self, f: &mut T);
    /// The items as JSON objects keyed by their fields' names.
    fn to_json(&self, f: &T) -> Json;
    /// Reads items written by `to_json`; `Err` names what did not read.
    fn read_json(&self, f: &mut T, v: &Json) -> Result<(), String>;
    /// The items' keys ([`Declared::key`]), as filters match them.
    fn keys(&self, f: &T) -> Vec<String>;
}

/// The items of `T` at `get`, each declared by `I::SCHEMA`.
pub struct Items<T: 'static, I: 'static> {
    pub get: fn(&T) -> &Vec<I>,
    pub get_mut: fn(&mut T) -> &mut Vec<I>,
}

impl<T, I: Declared> ItemList<T> for Items<T, I> {
    fn len(&self, f: &T) -> usize {
        (self.get)(f).len()
    }

    fn copy(&self, to: &mut T, from: &T) {
        (self.get_mut)(to).clone_from((self.get)(from));
    }

    fn clear(&self, f: &mut T) {
        (self.get_mut)(f).clear();
    }

    fn same(&self, a: &T, b: &T) -> bool {
        (self.get)(a) == (self.get)(b)
    }

    fn redact(&self, f: &mut T) {
        for item in (self.get_mut)(f) {
            I::SCHEMA.redact(item);
        }
    }

    fn to_json(&self, f: &T) -> Json {
        Json::Array((self.get)(f).iter().map(|i| I::SCHEMA.to_json(i)).collect())
    }

    fn read_json(&self, f: &mut T, v: &Json) -> Result<(), String> {
        let list = v.as_array().ok_or("not a list")?;
        let items = list
            .iter()
            .map(|item| I::SCHEMA.read_json(item))
            .collect::<Result<Vec<I>, String>>()?;
        *(self.get_mut)(f) = items;
        Ok(())
    }

    fn keys(&self, f: &T) -> Vec<String> {
        (self.get)(f).iter().filter_map(Declared::key).collect()
    }
}

/// Declares an enum field's access: `enum_access!(PersonFields, PersonStatus, status)`.
macro_rules! enum_access {
    ($T:ty, $E:ty, $($path:ident).+) => {
        $crate::domain::schema::Access::Enum($crate::domain::schema::EnumAccess::<$T> {
            get: |f| $crate::domain::WireEnum::code(f.$($path).+),
            set: |f, code| match <$E as $crate::domain::WireEnum>::from_code(code) {
                Some(v) => {
                    f.$($path).+ = v;
                    true
                }
                None => false,
            },
            parse: $crate::domain::schema::parse_enum::<$E>,
            name: $crate::domain::schema::enum_name::<$E>,
            names: <$E as $crate::domain::WireEnum>::names,
        })
    };
}

/// Declares a field's access by the value's type: `access!(Text, PersonFields, family_name)`.
macro_rules! access {
    ($kind:ident, $T:ty, $($path:ident).+) => {
        $crate::domain::schema::Access::<$T>::$kind(|f| &f.$($path).+, |f| &mut f.$($path).+)
    };
}

pub(crate) use {access, enum_access};

pub fn parse_enum<E: WireEnum>(s: &str) -> Option<i32> {
    E::parse_name(s).map(E::code)
}

pub fn enum_name<E: WireEnum>(code: i32) -> &'static str {
    E::from_code(code).map_or("UNSPECIFIED", E::name)
}

/// One declared field.
pub struct Field<T: 'static> {
    /// The API name: update-mask path, filter and order name, snapshot key.
    pub name: &'static str,
    pub access: Access<T>,
    pub mode: Mode,
    /// Personal data a viewer never sees (nor filters or orders by).
    pub sensitive: bool,
    /// Filters (and, for single values, `order_by`) may name it.
    pub filterable: bool,
    /// The column that stores it; `None` for computed names.
    pub column: Option<&'static str>,
    /// The column holds NULL when the value is unset.
    pub nullable: bool,
}

impl<T> Field<T> {
    /// A mutable field, filterable and stored in a column of its name. Optional values
    /// (`Int`, `Date`, `Id`) are nullable.
    pub const fn new(name: &'static str, access: Access<T>) -> Self {
        let (filterable, nullable) = match &access {
            Access::Int(..) | Access::Date(..) | Access::Id(..) => (true, true),
            Access::Time(..) => (false, true),
            Access::List(..) | Access::Items(_) => (false, false),
            _ => (true, false),
        };
        let column = match &access {
            Access::Names(_) => None,
            _ => Some(name),
        };
        let mode = match &access {
            Access::Names(_) => Mode::FilterOnly,
            _ => Mode::Mutable,
        };
        Field {
            name,
            access,
            mode,
            sensitive: false,
            filterable,
            column,
            nullable,
        }
    }

    pub const fn immutable(mut self) -> Self {
        self.mode = Mode::Immutable;
        self
    }

    pub const fn output_only(mut self) -> Self {
        self.mode = Mode::OutputOnly;
        self
    }

    pub const fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Filters may not name it (long text).
    pub const fn unfiltered(mut self) -> Self {
        self.filterable = false;
        self
    }

    /// Filters may name it: items with a key ([`Declared::key`]) the store keeps in a link
    /// table (external ids).
    pub const fn filtered(mut self) -> Self {
        self.filterable = true;
        self
    }

    /// Stored in a column named otherwise (a dotted name's column).
    pub const fn column(mut self, column: &'static str) -> Self {
        self.column = Some(column);
        self
    }

    /// Required, so its column never holds NULL.
    pub const fn not_null(mut self) -> Self {
        self.nullable = false;
        self
    }

    /// Orderable: a single value that filters may name.
    pub fn orderable(&self) -> bool {
        self.filterable && !self.is_set()
    }

    /// A set of values (`:` tests membership), not a single one.
    pub fn is_set(&self) -> bool {
        matches!(
            self.access,
            Access::Codes(..) | Access::List(..) | Access::Items(_) | Access::Names(_)
        )
    }

    /// Part of the resource (not a filter-only name).
    pub fn is_stored(&self) -> bool {
        self.mode != Mode::FilterOnly
    }

    /// The field's value in `f`, as filters see it.
    pub fn value<'a>(&self, f: &'a T) -> Value<'a> {
        match &self.access {
            Access::Text(get, _) => Value::Text(get(f)),
            Access::Int(get, _) => Value::Int(get(f).map(i64::from)),
            Access::Bool(get, _) => Value::Bool(*get(f)),
            Access::Date(get, _) => Value::Date(*get(f)),
            Access::Enum(e) => Value::Enum {
                code: (e.get)(f),
                parse: e.parse,
            },
            Access::Id(get, _) => Value::Id(get(f).as_deref()),
            Access::Codes(get, _) | Access::List(get, _) => Value::Codes(get(f)),
            Access::Time(get, _) => Value::Time(get(f).map_or(0, |t| t.timestamp_micros())),
            Access::Items(items) => Value::Keys(items.keys(f)),
            Access::Names(keys) => Value::Names(keys(f)),
        }
    }

    /// Whether the field holds a non-default value in `f`.
    pub fn populated(&self, f: &T) -> bool {
        match &self.access {
            Access::Text(get, _) => !get(f).is_empty(),
            Access::Int(get, _) => get(f).is_some(),
            Access::Bool(get, _) => *get(f),
            Access::Date(get, _) => get(f).is_some(),
            Access::Enum(e) => (e.get)(f) != 0,
            Access::Id(get, _) => get(f).is_some(),
            Access::Codes(get, _) | Access::List(get, _) => !get(f).is_empty(),
            Access::Time(get, _) => get(f).is_some(),
            Access::Items(items) => items.len(f) > 0,
            Access::Names(_) => false,
        }
    }

    /// Copies the field from `from` into `to`.
    pub fn copy(&self, to: &mut T, from: &T) {
        match &self.access {
            Access::Text(get, set) => set(to).clone_from(get(from)),
            Access::Int(get, set) => *set(to) = *get(from),
            Access::Bool(get, set) => *set(to) = *get(from),
            Access::Date(get, set) => *set(to) = *get(from),
            Access::Enum(e) => {
                (e.set)(to, (e.get)(from));
            }
            Access::Id(get, set) => set(to).clone_from(get(from)),
            Access::Codes(get, set) | Access::List(get, set) => set(to).clone_from(get(from)),
            Access::Time(get, set) => *set(to) = *get(from),
            Access::Items(items) => items.copy(to, from),
            Access::Names(_) => {}
        }
    }

    /// Resets the field to its default (unset) value.
    pub fn clear(&self, f: &mut T) {
        match &self.access {
            Access::Text(_, set) => set(f).clear(),
            Access::Int(_, set) => *set(f) = None,
            Access::Bool(_, set) => *set(f) = false,
            Access::Date(_, set) => *set(f) = None,
            Access::Enum(e) => {
                (e.set)(f, 0);
            }
            Access::Id(_, set) => *set(f) = None,
            Access::Codes(_, set) | Access::List(_, set) => set(f).clear(),
            Access::Time(_, set) => *set(f) = None,
            Access::Items(items) => items.clear(f),
            Access::Names(_) => {}
        }
    }

    /// Whether `incoming` sets this (immutable) field to something other than `current` holds.
    /// Text is compared trimmed, as validation will store it.
    fn changed_by(&self, current: &T, incoming: &T) -> bool {
        match &self.access {
            Access::Text(get, _) => {
                let sent = get(incoming).trim();
                !sent.is_empty() && sent != get(current).as_str()
            }
            _ => self.populated(incoming) && !self.same(current, incoming),
        }
    }

    /// Whether `a` and `b` hold the same value of this field.
    pub fn same(&self, a: &T, b: &T) -> bool {
        match &self.access {
            Access::Text(get, _) => get(a) == get(b),
            Access::Int(get, _) => get(a) == get(b),
            Access::Bool(get, _) => get(a) == get(b),
            Access::Date(get, _) => get(a) == get(b),
            Access::Enum(e) => (e.get)(a) == (e.get)(b),
            Access::Id(get, _) => get(a) == get(b),
            Access::Codes(get, _) | Access::List(get, _) => get(a) == get(b),
            Access::Time(get, _) => get(a) == get(b),
            Access::Items(items) => items.same(a, b),
            Access::Names(keys) => keys(a) == keys(b),
        }
    }

    /// The value as a stored record holds it: text, numbers, booleans, dates `YYYY-MM-DD`,
    /// enums by their short name, times in RFC 3339, repeated values as arrays, unset as null.
    pub fn to_json(&self, f: &T) -> Json {
        match &self.access {
            Access::Text(get, _) => Json::from(get(f).as_str()),
            Access::Int(get, _) => get(f).map_or(Json::Null, Json::from),
            Access::Bool(get, _) => Json::from(*get(f)),
            Access::Date(get, _) => {
                get(f).map_or(Json::Null, |d| Json::from(d.format("%Y-%m-%d").to_string()))
            }
            Access::Enum(e) => Json::from((e.name)((e.get)(f))),
            Access::Id(get, _) => get(f).as_deref().map_or(Json::Null, Json::from),
            Access::Codes(get, _) | Access::List(get, _) => Json::from(get(f).clone()),
            Access::Time(get, _) => get(f).map_or(Json::Null, |t| {
                Json::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
            }),
            Access::Items(items) => items.to_json(f),
            Access::Names(_) => Json::Null,
        }
    }

    /// Sets the value from what [`Field::to_json`] wrote (null: unset); `Err` when it does not
    /// read as this field's type.
    pub fn read_json(&self, f: &mut T, v: &Json) -> Result<(), String> {
        let wrong = || format!("bad {}", self.name);
        if v.is_null() {
            self.clear(f);
            return Ok(());
        }
        let text = || v.as_str().map(str::to_owned).ok_or_else(wrong);
        match &self.access {
            Access::Text(_, set) => *set(f) = text()?,
            Access::Int(_, set) => {
                let n = v.as_i64().ok_or_else(wrong)?;
                *set(f) = Some(i32::try_from(n).map_err(|_| wrong())?);
            }
            Access::Bool(_, set) => *set(f) = v.as_bool().ok_or_else(wrong)?,
            Access::Date(_, set) => {
                let d = NaiveDate::parse_from_str(&text()?, "%Y-%m-%d").map_err(|_| wrong())?;
                *set(f) = Some(d);
            }
            Access::Enum(e) => {
                let code = (e.parse)(&text()?).ok_or_else(wrong)?;
                (e.set)(f, code);
            }
            Access::Id(_, set) => *set(f) = Some(text()?),
            Access::Codes(_, set) | Access::List(_, set) => {
                *set(f) = v
                    .as_array()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|x| x.as_str().map(str::to_owned).ok_or_else(wrong))
                    .collect::<Result<_, _>>()?;
            }
            Access::Time(_, set) => {
                let t = DateTime::parse_from_rfc3339(&text()?).map_err(|_| wrong())?;
                *set(f) = Some(t.with_timezone(&Utc));
            }
            Access::Items(items) => items.read_json(f, v)?,
            Access::Names(_) => {}
        }
        Ok(())
    }
}

/// A field's value, typed as filters see it.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Text(&'a str),
    Int(Option<i64>),
    Bool(bool),
    Date(Option<NaiveDate>),
    /// Microseconds since the epoch.
    Time(i64),
    Enum {
        code: i32,
        parse: fn(&str) -> Option<i32>,
    },
    Id(Option<&'a str>),
    Codes(&'a [String]),
    Names(Vec<String>),
    /// Items' keys (`system/id`): `:` tests membership, exactly.
    Keys(Vec<String>),
}

/// One field that a change changed, as a record's history shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    /// The values as stored records hold them (null: unset).
    pub old: Json,
    pub new: Json,
    /// Values the reader may not see were cleared.
    pub redacted: bool,
}

/// An update mask, parsed once (see [`Schema::parse_mask`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mask {
    /// No path: every mutable field populated in the request.
    Populated,
    /// `*`: every mutable field.
    All,
    /// These updatable paths (fields or groups), each once.
    Paths(Vec<&'static str>),
}

/// The fields every stored resource has besides its declared ones, all output only. `id`,
/// `create_time` and `update_time` are filterable and orderable.
pub const META_FIELDS: &[&str] = &["id", "create_time", "update_time", "etag"];

/// A type whose fields are declared.
pub trait Declared: Default + Clone + PartialEq + 'static {
    const SCHEMA: &'static Schema<Self>;

    /// What identifies an item in a filter (`system/id` of an external id); `None`: items of
    /// this type are not filtered.
    fn key(&self) -> Option<String> {
        None
    }
}

/// A resource's declaration.
pub struct Schema<T: 'static> {
    /// The collection, as errors name it (`persons`).
    pub resource: &'static str,
    /// The singular, as violations are prefixed (`person`).
    pub singular: &'static str,
    pub fields: &'static [Field<T>],
    /// Output-only fields besides the common ones (derived figures).
    pub derived: &'static [&'static str],
}

impl<T> Schema<T> {
    pub fn field(&self, name: &str) -> Option<&Field<T>> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field's value as filters see it (`None`: no such filterable field).
    pub fn value<'a>(&self, meta: &'a Meta, fields: &'a T, name: &str) -> Option<Value<'a>> {
        match name {
            "id" => Some(Value::Id(Some(&meta.id))),
            "create_time" => Some(Value::Time(meta.create_time.timestamp_micros())),
            "update_time" => Some(Value::Time(meta.update_time.timestamp_micros())),
            _ => self
                .field(name)
                .filter(|f| f.filterable)
                .map(|f| f.value(fields)),
        }
    }

    /// Clears every sensitive field, and the sensitive fields of repeated items (what a
    /// viewer gets).
    pub fn redact(&self, fields: &mut T) {
        for f in self.fields {
            if f.sensitive {
                f.clear(fields);
            } else if let Access::Items(items) = &f.access {
                items.redact(fields);
            }
        }
    }

    /// The fields that differ from `before` to `after` (`before` `None`: every field `after`
    /// has set). With `redact`, a sensitive field shows as changed with its values cleared, and
    /// repeated items lose their sensitive parts.
    pub fn changes(&self, before: Option<&T>, after: &T, redact: bool) -> Vec<FieldChange>
    where
        T: Default + Clone,
    {
        let empty = T::default();
        let before = before.unwrap_or(&empty);
        let (mut seen_before, mut seen_after) = (before.clone(), after.clone());
        if redact {
            self.redact(&mut seen_before);
            self.redact(&mut seen_after);
        }
        self.stored()
            .filter(|f| !f.same(before, after))
            .map(|f| {
                let hidden = redact && f.sensitive;
                let (old, new) = if hidden {
                    (Json::Null, Json::Null)
                } else {
                    (f.to_json(&seen_before), f.to_json(&seen_after))
                };
                FieldChange {
                    field: f.name,
                    redacted: hidden
                        || (redact && (old != f.to_json(before) || new != f.to_json(after))),
                    old,
                    new,
                }
            })
            .collect()
    }

    /// The stored fields as one JSON object (a dotted name nested in its group's object).
    pub fn to_json(&self, fields: &T) -> Json {
        let mut out = serde_json::Map::new();
        for f in self.stored() {
            let value = f.to_json(fields);
            match f.name.split_once('.') {
                None => {
                    out.insert(f.name.to_owned(), value);
                }
                Some((group, leaf)) => {
                    let g = out
                        .entry(group.to_owned())
                        .or_insert_with(|| Json::Object(serde_json::Map::new()));
                    if let Some(g) = g.as_object_mut() {
                        g.insert(leaf.to_owned(), value);
                    }
                }
            }
        }
        Json::Object(out)
    }

    /// The fields read from a JSON object; absent keys leave fields unset.
    pub fn read_json(&self, v: &Json) -> Result<T, String>
    where
        T: Default,
    {
        let mut out = T::default();
        for f in self.stored() {
            let mut at = Some(v);
            for key in f.name.split('.') {
                at = at.and_then(|x| x.get(key));
            }
            if let Some(value) = at {
                f.read_json(&mut out, value)?;
            }
        }
        Ok(out)
    }

    /// Whether a filter or ordering naming `name` would reveal a sensitive value.
    pub fn sensitive(&self, name: &str) -> bool {
        self.field(name).is_some_and(|f| f.sensitive)
    }

    fn stored(&self) -> impl Iterator<Item = &Field<T>> {
        self.fields.iter().filter(|f| f.is_stored())
    }

    /// The mask paths that can be updated: every mutable field, each group (`aftercare`)
    /// before its first member.
    pub fn mutable_paths(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for f in self.stored().filter(|f| f.mode == Mode::Mutable) {
            for (i, _) in f.name.match_indices('.') {
                let group = &f.name[..i];
                if !out.contains(&group) {
                    out.push(group);
                }
            }
            out.push(f.name);
        }
        out
    }

    fn output_only(&self, path: &str) -> bool {
        META_FIELDS.contains(&path)
            || self.derived.contains(&path)
            || self.field(path).is_some_and(|f| f.mode == Mode::OutputOnly)
    }

    /// The fields a mask path names: one field, or every member of a group.
    fn members<'s>(&'s self, path: &'s str) -> impl Iterator<Item = &'s Field<T>> + 's {
        self.stored().filter(move |f| {
            f.name == path
                || f.name.len() > path.len()
                    && f.name.starts_with(path)
                    && f.name.as_bytes()[path.len()] == b'.'
        })
    }

    /// Parses an update mask (AIP-134) once, for every check and for applying it:
    /// - no path: every mutable field that is populated in the request;
    /// - `*`: every mutable field (a full replacement; unset fields are cleared);
    /// - explicit paths: exactly those (trimmed); output-only, immutable, unknown and repeated
    ///   paths are rejected, naming `update_mask.paths[i]`.
    ///
    /// The count is checked before the paths: more paths than there are updatable ones is one
    /// violation.
    pub fn parse_mask(&self, paths: &[String]) -> Result<Mask, Error> {
        let updatable = self.mutable_paths();
        if paths.len() > updatable.len() {
            return Err(Error::invalid(
                "update_mask.paths",
                format!(
                    "has {} paths; a {} has {} that can be updated, each at most once",
                    paths.len(),
                    self.singular,
                    updatable.len()
                ),
            ));
        }
        let paths: Vec<&str> = paths.iter().map(|p| p.trim()).collect();
        match paths.as_slice() {
            [] => return Ok(Mask::Populated),
            ["*"] => return Ok(Mask::All),
            _ => {}
        }
        let mut v = Violations::new();
        let mut canonical: Vec<&'static str> = Vec::with_capacity(paths.len());
        for (i, p) in paths.iter().enumerate() {
            let field = format!("update_mask.paths[{i}]");
            match updatable.iter().find(|u| **u == *p) {
                Some(u) if canonical.contains(u) => v.add(field, format!("`{p}` is repeated")),
                Some(u) => canonical.push(u),
                None if *p == "*" => v.add(field, "`*` must be the only path"),
                None if self.output_only(p) => v.add(field, format!("`{p}` is output only")),
                None if self.field(p).is_some_and(|f| f.mode == Mode::Immutable) => {
                    v.add(field, format!("`{p}` is immutable"))
                }
                None => v.add(
                    field,
                    format!(
                        "unknown field `{}`; updatable: {}",
                        p.chars().take(100).collect::<String>(),
                        updatable.join(", ")
                    ),
                ),
            }
        }
        v.finish(Mask::Paths(canonical))
    }

    /// Whether applying `mask` with `incoming` writes field `name`.
    pub fn writes(&self, mask: &Mask, incoming: &T, name: &str) -> bool {
        match mask {
            Mask::Populated => self.field(name).is_some_and(|f| f.populated(incoming)),
            Mask::All => true,
            Mask::Paths(paths) => paths
                .iter()
                .any(|p| self.members(p).any(|f| f.name == name)),
        }
    }

    /// Applies `incoming` onto `current` as a parsed mask says. Immutable fields may be echoed
    /// back unchanged, never changed: a violation names the field under the schema's singular.
    pub fn apply(&self, current: &mut T, incoming: &T, mask: &Mask) -> Result<(), Error> {
        let mutable = || self.stored().filter(|f| f.mode == Mode::Mutable);
        match mask {
            Mask::Populated | Mask::All => {
                let mut v = Violations::new();
                for f in self.stored().filter(|f| f.mode == Mode::Immutable) {
                    if f.changed_by(current, incoming) {
                        v.add(
                            format!("{}.{}", self.singular, f.name),
                            "is immutable and cannot be changed",
                        );
                    }
                }
                v.finish(())?;
                let all = matches!(mask, Mask::All);
                for f in mutable() {
                    if all || f.populated(incoming) {
                        f.copy(current, incoming);
                    }
                }
            }
            Mask::Paths(paths) => {
                for p in paths {
                    for f in self.members(p) {
                        f.copy(current, incoming);
                    }
                }
            }
        }
        Ok(())
    }

    /// [`Schema::parse_mask`], then [`Schema::apply`].
    pub fn apply_mask(&self, current: &mut T, incoming: &T, paths: &[String]) -> Result<(), Error> {
        let mask = self.parse_mask(paths)?;
        self.apply(current, incoming, &mask)
    }

    /// The names of the declared fields that are part of the resource, nested names with their
    /// dots, in declaration order (checked against the struct by each resource's tests).
    pub fn stored_names(&self) -> Vec<&'static str> {
        self.stored().map(|f| f.name).collect()
    }
}

/// The time of a stored microsecond timestamp.
pub fn time_of_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    /// The dotted names of every leaf of `value`'s serde form (objects nest; anything else is a
    /// leaf), in order: what a declaration must list.
    pub fn serde_leaves<T: serde::Serialize>(value: &T) -> Vec<String> {
        fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(map) => {
                    for (k, child) in map {
                        let name = if prefix.is_empty() {
                            k.clone()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&name, child, out);
                    }
                }
                _ => out.push(prefix.to_owned()),
            }
        }
        let mut out = Vec::new();
        if let Ok(v) = serde_json::to_value(value) {
            walk("", &v, &mut out);
        }
        out.sort();
        out
    }

    /// Fails when the declaration and the struct disagree about which fields there are.
    pub fn assert_covers<T: serde::Serialize + Default>(schema: &super::Schema<T>) {
        let mut declared: Vec<String> = schema
            .stored_names()
            .into_iter()
            .map(str::to_owned)
            .collect();
        declared.sort();
        assert_eq!(
            declared,
            serde_leaves(&T::default()),
            "the declaration of {} must list exactly the fields of its struct",
            schema.resource
        );
    }
}
