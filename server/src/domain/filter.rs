//! The AIP-160 subset that every List (and later Watch) accepts:
//!
//! ```text
//! filter     = [expression]
//! expression = sequence { "AND" sequence }
//! sequence   = factor { factor }            (juxtaposition means AND)
//! factor     = term { "OR" term }           (OR binds tighter than AND, as in AIP-160)
//! term       = ["NOT" | "-"] simple
//! simple     = "(" expression ")" | comparison
//! comparison = field op value
//! op         = "=" | "!=" | "<" | "<=" | ">" | ">=" | ":"
//! value      = string | word
//! ```
//!
//! Strings are double- or single-quoted with backslash escapes; a word is a bare run of letters,
//! digits, `_`, `-`, `.`, `+` (numbers, `true`, enum names). Positions in errors are 1-based
//! character columns. What a field means (its type, whether it exists) is decided by the store,
//! which knows the columns; it reports errors at the positions kept here.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Comparison),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Has => ":",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub field: String,
    /// 1-based character column of the field name.
    pub field_pos: usize,
    pub op: Op,
    pub value: Value,
    /// 1-based character column of the value.
    pub value_pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string, unescaped.
    Quoted(String),
    /// A bare word: a number, `true`/`false`, an enum name.
    Word(String),
}

impl Value {
    pub fn text(&self) -> &str {
        match self {
            Value::Quoted(s) | Value::Word(s) => s,
        }
    }
}

/// A syntax error, or (from the store) a meaning error, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// 1-based character column.
    pub position: usize,
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at position {}: {}", self.position, self.message)
    }
}

impl FilterError {
    pub fn at(position: usize, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

/// Longest filter accepted, in characters.
pub const MAX_LEN: usize = 4_000;
/// Deepest nesting of parentheses and NOTs.
const MAX_DEPTH: usize = 32;
/// Most comparisons in one filter.
const MAX_COMPARISONS: usize = 100;

/// Parses a filter; `Ok(None)` for an empty one.
impl Expr {
    /// Every field name the expression compares.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::And(v) | Expr::Or(v) => stack.extend(v.iter()),
                Expr::Not(inner) => stack.push(inner),
                Expr::Compare(c) => out.push(c.field.as_str()),
            }
        }
        out
    }
}

/// The field names a filter compares; empty for an empty or unparseable filter (the store
/// reports the syntax error with its position).
pub fn fields_of(input: &str) -> Vec<String> {
    match parse(input) {
        Ok(Some(e)) => e.fields().into_iter().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

pub fn parse(input: &str) -> Result<Option<Expr>, FilterError> {
    let n = input.chars().count();
    if n > MAX_LEN {
        return Err(FilterError::at(
            MAX_LEN + 1,
            format!("filter is longer than {MAX_LEN} characters"),
        ));
    }
    let tokens = lex(input)?;
    if tokens.len() == 1 {
        return Ok(None);
    }
    let mut p = Parser {
        tokens,
        at: 0,
        depth: 0,
        comparisons: 0,
    };
    let expr = p.expression()?;
    let t = p.peek();
    if t.kind != Tok::End {
        return Err(FilterError::at(t.pos, format!("unexpected {}", t.kind)));
    }
    Ok(Some(expr))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Op(Op),
    LParen,
    RParen,
    Minus,
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) => write!(f, "`{w}`"),
            Tok::Str(s) => write!(f, "string {s:?}"),
            Tok::Op(op) => write!(f, "`{op}`"),
            Tok::LParen => f.write_str("`(`"),
            Tok::RParen => f.write_str("`)`"),
            Tok::Minus => f.write_str("`-`"),
            Tok::End => f.write_str("end of filter"),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

fn lex(input: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                out.push(Token {
                    kind: Tok::LParen,
                    pos,
                });
                i += 1;
            }
            ')' => {
                out.push(Token {
                    kind: Tok::RParen,
                    pos,
                });
                i += 1;
            }
            '=' => {
                out.push(Token {
                    kind: Tok::Op(Op::Eq),
                    pos,
                });
                i += 1;
            }
            ':' => {
                out.push(Token {
                    kind: Tok::Op(Op::Has),
                    pos,
                });
                i += 1;
            }
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Token {
                        kind: Tok::Op(Op::Ne),
                        pos,
                    });
                    i += 2;
                } else {
                    return Err(FilterError::at(pos, "`!` must be followed by `=`"));
                }
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let op = match (c, eq) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    (_, false) => Op::Gt,
                    (_, true) => Op::Ge,
                };
                out.push(Token {
                    kind: Tok::Op(op),
                    pos,
                });
                i += if eq { 2 } else { 1 };
            }
            '"' | '\'' => {
                let quote = c;
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(FilterError::at(pos, "unterminated string")),
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                Some(e) => s.push(*e),
                                None => return Err(FilterError::at(pos, "unterminated string")),
                            }
                            i += 2;
                        }
                        Some(ch) if *ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            i += 1;
                        }
                    }
                }
                if s.chars().any(char::is_control) {
                    // No stored value holds one (and PostgreSQL refuses NUL in text).
                    return Err(FilterError::at(
                        pos,
                        "strings must not contain control characters",
                    ));
                }
                out.push(Token {
                    kind: Tok::Str(s),
                    pos,
                });
            }
            '-' if chars.get(i + 1).is_none_or(|n| !n.is_ascii_digit()) => {
                out.push(Token {
                    kind: Tok::Minus,
                    pos,
                });
                i += 1;
            }
            c if is_word_char(c) => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                out.push(Token {
                    kind: Tok::Word(chars[start..i].iter().collect()),
                    pos,
                });
            }
            other => {
                return Err(FilterError::at(
                    pos,
                    format!("unexpected character {other:?}"),
                ));
            }
        }
    }
    out.push(Token {
        kind: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `lex` always ends with `End`, and `next` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.peek().kind, Tok::Word(w) if w == kw)
    }

    fn expression(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.sequence()?];
        while self.is_keyword("AND") {
            self.next();
            items.push(self.sequence()?);
        }
        Ok(flatten(items, Expr::And))
    }

    fn sequence(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.factor()?];
        loop {
            let t = self.peek();
            let starts_term = match &t.kind {
                Tok::Word(w) => w != "AND" && w != "OR",
                Tok::Str(_) | Tok::LParen | Tok::Minus => true,
                _ => false,
            };
            if !starts_term {
                break;
            }
            items.push(self.factor()?);
        }
        Ok(flatten(items, Expr::And))
    }

    fn factor(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.term()?];
        while self.is_keyword("OR") {
            self.next();
            items.push(self.term()?);
        }
        Ok(flatten(items, Expr::Or))
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        let negate = self.is_keyword("NOT") || self.peek().kind == Tok::Minus;
        if negate {
            let t = self.next();
            self.enter(t.pos)?;
            let inner = self.simple()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.simple()
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::at(
                pos,
                format!("nested deeper than {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    fn simple(&mut self) -> Result<Expr, FilterError> {
        let t = self.next();
        match t.kind {
            Tok::LParen => {
                self.enter(t.pos)?;
                let e = self.expression()?;
                self.depth -= 1;
                let close = self.next();
                if close.kind != Tok::RParen {
                    return Err(FilterError::at(
                        close.pos,
                        format!(
                            "expected `)` to close `(` at position {}, found {}",
                            t.pos, close.kind
                        ),
                    ));
                }
                Ok(e)
            }
            Tok::Word(field) if !matches!(field.as_str(), "AND" | "OR" | "NOT") => {
                self.comparison(field, t.pos)
            }
            other => Err(FilterError::at(
                t.pos,
                format!("expected a field name or `(`, found {other}"),
            )),
        }
    }

    fn comparison(&mut self, field: String, field_pos: usize) -> Result<Expr, FilterError> {
        let t = self.next();
        let Tok::Op(op) = t.kind else {
            return Err(FilterError::at(
                t.pos,
                format!(
                    "expected an operator (= != < <= > >= :) after `{field}`, found {}",
                    t.kind
                ),
            ));
        };
        let v = self.next();
        let value = match v.kind {
            Tok::Str(s) => Value::Quoted(s),
            Tok::Word(w) if !matches!(w.as_str(), "AND" | "OR" | "NOT") => Value::Word(w),
            other => {
                return Err(FilterError::at(
                    v.pos,
                    format!("expected a value after `{field} {op}`, found {other}"),
                ));
            }
        };
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(FilterError::at(
                field_pos,
                format!("more than {MAX_COMPARISONS} comparisons"),
            ));
        }
        Ok(Expr::Compare(Comparison {
            field,
            field_pos,
            op,
            value,
            value_pos: v.pos,
        }))
    }
}

fn flatten(mut items: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if items.len() == 1 {
        items.remove(0)
    } else {
        make(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(field: &str, op: Op, value: Value) -> Expr {
        Expr::Compare(Comparison {
            field: field.into(),
            field_pos: 0,
            op,
            value,
            value_pos: 0,
        })
    }

    /// Positions zeroed, to compare shapes.
    fn shape(e: Expr) -> Expr {
        match e {
            Expr::And(v) => Expr::And(v.into_iter().map(shape).collect()),
            Expr::Or(v) => Expr::Or(v.into_iter().map(shape).collect()),
            Expr::Not(b) => Expr::Not(Box::new(shape(*b))),
            Expr::Compare(c) => Expr::Compare(Comparison {
                field_pos: 0,
                value_pos: 0,
                ..c
            }),
        }
    }

    fn parsed(s: &str) -> Expr {
        match parse(s) {
            Ok(Some(e)) => shape(e),
            other => panic!("{s:?} did not parse: {other:?}"),
        }
    }

    fn error(s: &str) -> FilterError {
        match parse(s) {
            Err(e) => e,
            Ok(e) => panic!("{s:?} parsed as {e:?}"),
        }
    }

    #[test]
    fn empty_and_blank_filters_mean_no_filter() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn a_comparison_keeps_its_operator_and_value() {
        assert_eq!(
            parsed(r#"capture_date < "2023-01-01""#),
            cmp("capture_date", Op::Lt, Value::Quoted("2023-01-01".into()))
        );
        assert_eq!(
            parsed("status != RETURNED"),
            cmp("status", Op::Ne, Value::Word("RETURNED".into()))
        );
        assert_eq!(
            parsed("n >= -3"),
            cmp("n", Op::Ge, Value::Word("-3".into()))
        );
        assert_eq!(parsed("a<=1"), cmp("a", Op::Le, Value::Word("1".into())));
        assert_eq!(parsed("a>1"), cmp("a", Op::Gt, Value::Word("1".into())));
        assert_eq!(
            parsed(r#"category_codes:"under-25""#),
            cmp("category_codes", Op::Has, Value::Quoted("under-25".into()))
        );
    }

    #[test]
    fn or_binds_tighter_than_and() {
        let e = parsed("a = 1 AND b = 2 OR c = 3");
        assert_eq!(
            e,
            Expr::And(vec![
                cmp("a", Op::Eq, Value::Word("1".into())),
                Expr::Or(vec![
                    cmp("b", Op::Eq, Value::Word("2".into())),
                    cmp("c", Op::Eq, Value::Word("3".into())),
                ]),
            ])
        );
    }

    #[test]
    fn parentheses_not_and_minus_group_and_negate() {
        let e = parsed("NOT (a = 1 OR b = 2) -c = 3");
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::Not(Box::new(Expr::Or(vec![
                    cmp("a", Op::Eq, Value::Word("1".into())),
                    cmp("b", Op::Eq, Value::Word("2".into())),
                ]))),
                Expr::Not(Box::new(cmp("c", Op::Eq, Value::Word("3".into())))),
            ])
        );
    }

    #[test]
    fn strings_unescape_quotes_and_keep_cyrillic() {
        assert_eq!(
            parsed(r#"family_name = "Шев\"ченко""#),
            cmp("family_name", Op::Eq, Value::Quoted("Шев\"ченко".into()))
        );
        assert_eq!(
            parsed("x = 'it'"),
            cmp("x", Op::Eq, Value::Quoted("it".into()))
        );
    }

    #[test]
    fn errors_name_the_position_of_the_problem() {
        assert_eq!(error("a = ").position, 5);
        assert_eq!(error("a = 1 AND").position, 10);
        assert_eq!(error("(a = 1").position, 7);
        assert_eq!(error("a 1").position, 3);
        assert_eq!(error(r#"a = "open"#).position, 5);
        assert_eq!(error("a = 1)").position, 6);
        assert_eq!(error("a ! 1").position, 3);
        assert_eq!(error("a = 1 # b").position, 7);
        assert!(error("a = ").message.contains("expected a value"));
    }

    #[test]
    fn keywords_cannot_be_fields_or_values() {
        assert_eq!(error("AND = 1").position, 1);
        assert_eq!(error("a = OR").position, 5);
    }

    #[test]
    fn random_input_never_panics() {
        // A tiny deterministic generator over the characters that matter to the grammar.
        let alphabet: Vec<char> = "ab_ .:=!<>()\"'\\-1 ANDORNOTШ\t".chars().collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let len = (state % 24) as usize;
            let mut s = String::new();
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            if let Err(e) = parse(&s) {
                assert!(
                    e.position >= 1 && e.position <= s.chars().count() + 1,
                    "{s:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn absurdly_deep_or_long_filters_are_rejected() {
        let deep = format!("{}a = 1{}", "(".repeat(40), ")".repeat(40));
        assert!(error(&deep).message.contains("nested"));
        let long = "a = 1 ".repeat(1000);
        assert!(error(&long).message.contains("longer"));
        let many = vec!["a = 1"; 101].join(" AND ");
        assert!(error(&many).message.contains("comparisons"));
    }
}
