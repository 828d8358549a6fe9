//! A JSON string that must be a string. poem-openapi's `String` also accepts numbers
//! and booleans (`false` becomes `"false"`), which the schema forbids; request
//! bodies use `Str` so that a value the spec calls a string really is one. It also
//! refuses NUL characters, which PostgreSQL cannot store, and says so in its schema.

use std::borrow::Cow;
use std::ops::Deref;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// The parts of `poem_openapi::types::Type` that are the same for every scalar
/// wrapper here (`Str`, `Int`, the error `Code`): required, and its own raw value.
macro_rules! scalar_type_plumbing {
    () => {
        const IS_REQUIRED: bool = true;

        type RawValueType = Self;

        type RawElementValueType = Self;

        fn as_raw_value(&self) -> Option<&Self> {
            Some(self)
        }

        fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
            Box::new(std::iter::once(self))
        }
    };
}
pub(crate) use scalar_type_plumbing;

/// The schema pattern of every request string: no NUL character.
pub const NO_NUL: &str = r"^[^\x00]*$";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Str(pub String);

impl Deref for Str {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Str> for String {
    fn from(s: Str) -> String {
        s.0
    }
}

impl Type for Str {
    scalar_type_plumbing!();

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(NO_NUL.into()),
            ..MetaSchema::new("string")
        }))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for Str {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) if s.contains('\0') => Err(ParseError::custom("a string must not contain NUL characters")),
            Value::String(s) => Ok(Str(s)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Str {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// A JSON integer (int64). As in JSON Schema, a number whose fraction is zero is an
/// integer, so `42.0` is 42; `42.5`, strings and numbers outside int64 are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

/// The values of a list of `Int`s.
pub fn ints(values: &[Int]) -> Vec<i64> {
    values.iter().map(|v| v.0).collect()
}

impl Type for Int {
    scalar_type_plumbing!();

    fn name() -> Cow<'static, str> {
        "integer_int64".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("integer", "int64")))
    }
}

impl ParseFromJSON for Int {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return Ok(Int(i));
                }
                // A written number that was not read as an i64 is a float: taken only when
                // it is whole and small enough (|f| <= 2^53) to be exactly what was sent.
                const EXACT: f64 = 9_007_199_254_740_992.0;
                let whole = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT);
                whole
                    .map(|f| Int(f as i64))
                    .ok_or_else(|| ParseError::custom(format!("{n} is not an int64 integer")))
            }
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Int {
    fn to_json(&self) -> Option<Value> {
        Some(Value::from(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_strings_parse() {
        assert_eq!(
            Str::parse_from_json(Some(Value::String("hi".into()))).unwrap(),
            Str("hi".into())
        );
        assert!(Str::parse_from_json(Some(Value::Bool(false))).is_err());
        assert!(Str::parse_from_json(Some(serde_json::json!(42))).is_err());
        assert!(Str::parse_from_json(Some(Value::Null)).is_err());
        assert!(Str::parse_from_json(Some(Value::String("a\0b".into()))).is_err());
    }

    #[test]
    fn integers_with_a_zero_fraction_are_integers() {
        let parse = |v: Value| Int::parse_from_json(Some(v)).map(|i| i.0).ok();
        assert_eq!(parse(serde_json::json!(42)), Some(42));
        assert_eq!(parse(serde_json::json!(-7.0)), Some(-7));
        assert_eq!(parse(serde_json::json!(i64::MIN)), Some(i64::MIN));
        assert_eq!(parse(serde_json::json!(42.5)), None);
        assert_eq!(parse(serde_json::json!(1e19)), None);
        assert_eq!(parse(serde_json::from_str("-9223372036854775809").unwrap()), None);
        assert_eq!(
            parse(serde_json::json!(9_007_199_254_740_992.0)),
            Some(9_007_199_254_740_992)
        );
        assert_eq!(parse(serde_json::json!(u64::MAX)), None);
        assert_eq!(parse(serde_json::json!("42")), None);
        assert_eq!(parse(Value::Null), None);
    }
}
