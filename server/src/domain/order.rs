//! `order_by` of AIP-132: `"field [asc|desc], ..."`. Which fields can be ordered on is the
//! store's decision; this only parses.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderKey {
    pub field: String,
    pub desc: bool,
}

/// Parses `order_by`; errors are descriptions for the `order_by` field violation.
pub fn parse(input: &str) -> Result<Vec<OrderKey>, String> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(Vec::new());
    }
    if input.chars().count() > 500 {
        return Err("must be at most 500 characters".into());
    }
    let mut keys: Vec<OrderKey> = Vec::new();
    for (i, part) in input.split(',').enumerate() {
        let words: Vec<&str> = part.split_whitespace().collect();
        let (field, desc) = match words.as_slice() {
            [field] => (*field, false),
            [field, dir] if dir.eq_ignore_ascii_case("asc") => (*field, false),
            [field, dir] if dir.eq_ignore_ascii_case("desc") => (*field, true),
            [] => return Err(format!("term {} is empty", i + 1)),
            _ => {
                return Err(format!(
                    "term {} {:?} must be `field`, `field asc` or `field desc`",
                    i + 1,
                    part.trim()
                ));
            }
        };
        if keys.iter().any(|k| k.field == field) {
            return Err(format!("field `{field}` appears twice"));
        }
        keys.push(OrderKey {
            field: field.to_owned(),
            desc,
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_take_an_optional_direction() {
        let keys = parse("family_name, capture_date desc ,given_name ASC").unwrap_or_default();
        let got: Vec<_> = keys.iter().map(|k| (k.field.as_str(), k.desc)).collect();
        assert_eq!(
            got,
            [
                ("family_name", false),
                ("capture_date", true),
                ("given_name", false)
            ]
        );
    }

    #[test]
    fn empty_terms_unknown_directions_and_repeats_are_rejected() {
        assert!(parse("a,,b").is_err());
        assert!(parse("a sideways").is_err());
        assert!(parse("a, a desc").is_err());
        assert_eq!(parse("  "), Ok(vec![]));
    }
}
