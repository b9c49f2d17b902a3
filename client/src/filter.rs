//! A typed builder for the registry's AIP-160 filters, so that callers need not hand-write
//! (and quote) filter strings.
//!
//! ```
//! use homecoming_client::filter::field;
//! use homecoming_client::proto::PersonStatus;
//!
//! let f = field("category_codes").has("under-25")
//!     & field("status").eq(PersonStatus::Returned)
//!     & (field("capture_date").lt("2023-01-01") | field("family_name").eq("O'Test \"Q\""));
//! assert_eq!(
//!     f.to_string(),
//!     r#"category_codes:"under-25" AND status = PERSON_STATUS_RETURNED AND (capture_date < "2023-01-01" OR family_name = "O'Test \"Q\"")"#
//! );
//! ```
//!
//! Operands are parenthesised whenever they are compound, so the result means what the Rust
//! expression says (in AIP-160, OR binds tighter than AND).

use std::fmt;

use homecoming_proto::v1 as pb;

/// A rendered filter expression. Combine filters with `&` ([`and`](Self::and)), `|`
/// ([`or`](Self::or)) and `!` ([`negate`](Self::negate)); it converts into the `String` that
/// [`ListQuery::filter`](method@crate::ListQuery::filter) and
/// [`WatchBuilder::filter`](crate::WatchBuilder::filter) take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    text: String,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Simple,
    And,
    Or,
}

/// A field to compare; start with [`field`].
#[derive(Debug, Clone)]
pub struct Field(String);

/// Starts a comparison on `name` (e.g. `"exchange_id"`, `"aftercare.payments"`).
pub fn field(name: impl Into<String>) -> Field {
    Field(name.into())
}

/// Name search: persons with a family, given or patronymic name starting with each word of
/// `prefix`, in Cyrillic or Latin (official transliteration): `name("Шевч")` also finds
/// "Shevchenko".
pub fn name(prefix: &str) -> Filter {
    field("name").has(prefix)
}

/// A value on the right of a comparison. Strings (and dates, as `"YYYY-MM-DD"`) become quoted
/// literals; numbers, booleans and the registry's enums become bare words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal(String);

impl Literal {
    /// A quoted string literal.
    pub fn string(s: &str) -> Literal {
        let mut out = String::with_capacity(s.len() + 2);
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                c => out.push(c),
            }
        }
        out.push('"');
        Literal(out)
    }

    /// A bare word (enum value name, number, boolean), written as given.
    pub fn word(s: impl Into<String>) -> Literal {
        Literal(s.into())
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::string(s)
    }
}

impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal::string(&s)
    }
}

impl From<&String> for Literal {
    fn from(s: &String) -> Self {
        Literal::string(s)
    }
}

impl From<i32> for Literal {
    fn from(n: i32) -> Self {
        Literal(n.to_string())
    }
}

impl From<i64> for Literal {
    fn from(n: i64) -> Self {
        Literal(n.to_string())
    }
}

impl From<bool> for Literal {
    fn from(b: bool) -> Self {
        Literal(b.to_string())
    }
}

impl From<homecoming_proto::google::r#type::Date> for Literal {
    fn from(d: homecoming_proto::google::r#type::Date) -> Self {
        Literal::string(&format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
    }
}

macro_rules! enum_literals {
    ($($t:ty),*) => {
        $(impl From<$t> for Literal {
            fn from(v: $t) -> Self {
                Literal(v.as_str_name().to_owned())
            }
        })*
    };
}

enum_literals!(
    pb::CategoryKind,
    pb::ExchangeStatus,
    pb::PersonKind,
    pb::Sex,
    pb::ServiceBranch,
    pb::RankGroup,
    pb::PersonStatus,
    pb::CareStatus
);

impl Field {
    fn cmp(self, op: &str, v: impl Into<Literal>) -> Filter {
        Filter {
            text: format!("{} {op} {}", self.0, v.into().0),
            kind: Kind::Simple,
        }
    }

    /// `field = value`.
    pub fn eq(self, v: impl Into<Literal>) -> Filter {
        self.cmp("=", v)
    }

    /// `field != value`.
    pub fn ne(self, v: impl Into<Literal>) -> Filter {
        self.cmp("!=", v)
    }

    /// `field < value`.
    pub fn lt(self, v: impl Into<Literal>) -> Filter {
        self.cmp("<", v)
    }

    /// `field <= value`.
    pub fn le(self, v: impl Into<Literal>) -> Filter {
        self.cmp("<=", v)
    }

    /// `field > value`.
    pub fn gt(self, v: impl Into<Literal>) -> Filter {
        self.cmp(">", v)
    }

    /// `field >= value`.
    pub fn ge(self, v: impl Into<Literal>) -> Filter {
        self.cmp(">=", v)
    }

    /// Membership in a repeated field: `category_codes:"under-25"`.
    pub fn has(self, v: impl Into<Literal>) -> Filter {
        Filter {
            text: format!("{}:{}", self.0, v.into().0),
            kind: Kind::Simple,
        }
    }
}

impl Filter {
    fn operand(&self, within: Kind) -> String {
        if self.kind == Kind::Simple || self.kind == within {
            self.text.clone()
        } else {
            format!("({})", self.text)
        }
    }

    /// Both: `self AND other` (an operand that is an OR is parenthesised).
    pub fn and(self, other: Filter) -> Filter {
        Filter {
            text: format!(
                "{} AND {}",
                self.operand(Kind::And),
                other.operand(Kind::And)
            ),
            kind: Kind::And,
        }
    }

    /// Either: `self OR other` (an operand that is an AND is parenthesised).
    pub fn or(self, other: Filter) -> Filter {
        Filter {
            text: format!("{} OR {}", self.operand(Kind::Or), other.operand(Kind::Or)),
            kind: Kind::Or,
        }
    }

    /// The opposite: `NOT (self)`.
    pub fn negate(self) -> Filter {
        Filter {
            text: format!("NOT ({})", self.text),
            kind: Kind::Simple,
        }
    }

    /// The filter string, as sent to the server.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<Filter> for String {
    fn from(f: Filter) -> String {
        f.text
    }
}

impl std::ops::BitAnd for Filter {
    type Output = Filter;
    fn bitand(self, rhs: Filter) -> Filter {
        self.and(rhs)
    }
}

impl std::ops::BitOr for Filter {
    type Output = Filter;
    fn bitor(self, rhs: Filter) -> Filter {
        self.or(rhs)
    }
}

impl std::ops::Not for Filter {
    type Output = Filter;
    fn not(self) -> Filter {
        self.negate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compound_operands_are_parenthesised() {
        let a = field("a").eq(1);
        let b = field("b").eq(2);
        let c = field("c").eq(3);
        assert_eq!(
            (a.clone() | b.clone()).and(c.clone()).to_string(),
            "(a = 1 OR b = 2) AND c = 3"
        );
        assert_eq!(
            (a.clone() & b.clone() | c.clone()).to_string(),
            "(a = 1 AND b = 2) OR c = 3"
        );
        assert_eq!((a.clone() & b & c).to_string(), "a = 1 AND b = 2 AND c = 3");
        assert_eq!((!a).to_string(), "NOT (a = 1)");
    }

    #[test]
    fn strings_are_quoted_and_escaped() {
        assert_eq!(field("x").eq("a\"b\\c").to_string(), r#"x = "a\"b\\c""#);
        assert_eq!(field("x").eq("Шевченко").to_string(), "x = \"Шевченко\"");
    }
}
