//! poem-openapi as this crate's operations and objects see it, with one change: the
//! `pattern` validator compiles each regular expression once, where poem-openapi's
//! compiles it again on every check (`Regex::new` in `Pattern::check`; an inbound
//! message checks four fields, and the compiling was a tenth of its CPU time).
//!
//! The derive macros name the crate as `poem_openapi::…` at the call site, so a
//! module that says `use crate::oai as poem_openapi;` has its validators built from
//! here; everything else is poem-openapi's own, re-exported.

pub use ::poem_openapi::*;

pub mod validation {
    pub use super::Pattern;
    pub use ::poem_openapi::validation::*;
}

use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

use ::poem_openapi::registry::MetaSchema;
use ::poem_openapi::validation::{Validator, ValidatorMeta};
use regex::Regex;

/// The `pattern` validator: the same check, message and schema as poem-openapi's.
pub struct Pattern {
    pattern: &'static str,
}

impl Pattern {
    pub fn new(pattern: &'static str) -> Self {
        Pattern { pattern }
    }

    fn regex(&self) -> &'static Regex {
        // One compiled expression per pattern literal in the source, kept for the
        // life of the process.
        static COMPILED: OnceLock<RwLock<HashMap<&'static str, &'static Regex>>> = OnceLock::new();
        let compiled = COMPILED.get_or_init(Default::default);
        if let Some(regex) = compiled.read().unwrap_or_else(|e| e.into_inner()).get(self.pattern) {
            return regex;
        }
        // The derive macro has already refused patterns that do not compile.
        let regex: &'static Regex = Box::leak(Box::new(Regex::new(self.pattern).expect("a valid pattern")));
        compiled
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(self.pattern)
            .or_insert(regex)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pattern(\"{}\")", self.pattern)
    }
}

impl<T: AsRef<str>> Validator<T> for Pattern {
    fn check(&self, value: &T) -> bool {
        self.regex().is_match(value.as_ref())
    }
}

impl ValidatorMeta for Pattern {
    fn update_meta(&self, meta: &mut MetaSchema) {
        meta.pattern = Some(self.pattern.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_check_like_poem_openapi_and_compile_once() {
        let non_blank = Pattern::new(r"^[^\x00]*[^ \t\n\x0C\r\x00][^\x00]*$");
        assert!(non_blank.check(&"  a "));
        assert!(!non_blank.check(&" \t\n"));
        assert!(!non_blank.check(&"a\0"));
        assert!(std::ptr::eq(non_blank.regex(), Pattern::new(non_blank.pattern).regex()));
        assert_eq!(
            non_blank.to_string(),
            ::poem_openapi::validation::Pattern::new(non_blank.pattern).to_string()
        );
    }
}
