//! Domain newtypes that parse what callers send: once a value has one of these types
//! it is known to be within its limits.

use crate::error::{Error, ErrorCode, Result};
use crate::limits::{MAX_FORWARD_TEXT_CHARS, MAX_NAME_CHARS, MAX_TERM_CHARS, MAX_TEXT_CHARS};

/// A message text: not blank, at most 20,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    pub fn parse(text: &str) -> Result<Self> {
        // Blank means ASCII white space only, exactly as the spec's pattern says.
        if text.chars().all(|c| c.is_ascii_whitespace()) {
            return Err(Error::new(ErrorCode::TextEmpty, "text must not be empty"));
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(Error::new(
                ErrorCode::TextTooLong,
                format!("text has {chars} characters; at most {MAX_TEXT_CHARS} are allowed"),
            ));
        }
        Ok(MessageText(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text that goes with a forward: may be empty, at most 2,000 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardText(String);

impl ForwardText {
    pub fn parse(text: &str) -> Result<Self> {
        let chars = text.chars().count();
        if chars > MAX_FORWARD_TEXT_CHARS {
            return Err(Error::new(
                ErrorCode::TextTooLong,
                format!("forward text has {chars} characters; at most {MAX_FORWARD_TEXT_CHARS} are allowed"),
            ));
        }
        Ok(ForwardText(text.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A search term: trimmed, at most 256 characters; `None` when blank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    pub fn parse(term: &str) -> Result<Option<Self>> {
        let chars = term.chars().count();
        if chars > MAX_TERM_CHARS {
            return Err(Error::new(
                ErrorCode::TermTooLong,
                format!("term has {chars} characters; at most {MAX_TERM_CHARS} are allowed"),
            ));
        }
        let trimmed = term.trim();
        Ok((!trimmed.is_empty()).then(|| SearchTerm(trimmed.to_lowercase())))
    }

    /// Whether trigram indexes can answer it: three characters or more.
    pub fn is_indexable(&self) -> bool {
        self.0.chars().count() >= 3
    }

    /// The term itself, lower-cased (for `contains_folded` on SQLite).
    pub fn folded(&self) -> &str {
        &self.0
    }

    /// The term as one FTS5 phrase: quoted, inner quotes doubled, so that no
    /// character of it is read as query syntax.
    pub fn fts_phrase(&self) -> String {
        format!("\"{}\"", self.0.replace('"', "\"\""))
    }

    /// The term's trigrams, as the FTS5 trigram tokenizer cuts it: every run of three
    /// characters, overlapping, in order. A text holding the term holds each of them.
    pub fn trigrams(&self) -> Vec<&str> {
        let starts: Vec<usize> = self.0.char_indices().map(|(at, _)| at).chain([self.0.len()]).collect();
        (0..starts.len().saturating_sub(3))
            .map(|k| &self.0[starts[k]..starts[k + 3]])
            .collect()
    }

    /// An FTS5 query for the texts holding every one of `parts`, each quoted as
    /// `fts_phrase` quotes the term.
    pub fn fts_all_of(parts: &[&str]) -> String {
        parts
            .iter()
            .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The term as a `LIKE` pattern matching it anywhere, with `\` as the escape.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            push_like_escaped(&mut pattern, c);
        }
        pattern.push('%');
        pattern
    }

    /// A `LIKE` pattern (escaped as `like_pattern`'s) of the term's junctions alone:
    /// each run of characters that join words (`joins`) with the character on either
    /// side of it, runs that touch written as one, in the term's order, with `%`
    /// between and around them. Every text holding the term holds them in that order.
    /// `None` where the term has no such junction, or where they make up the whole
    /// term. "kyiv lviv odesa" gives `%v l%v o%`.
    pub fn junction_pattern(&self, joins: impl Fn(char) -> bool) -> Option<String> {
        let chars: Vec<char> = self.0.chars().collect();
        let mut kept = vec![false; chars.len()];
        let mut at = 0;
        while at < chars.len() {
            let start = at;
            while at < chars.len() && joins(chars[at]) {
                at += 1;
            }
            if at == start {
                at += 1;
            } else if start > 0 && at < chars.len() {
                kept[start - 1..=at].fill(true);
            }
        }
        if !kept.contains(&true) || !kept.contains(&false) {
            return None;
        }
        let mut pattern = String::from("%");
        for (at, &c) in chars.iter().enumerate() {
            if kept[at] {
                push_like_escaped(&mut pattern, c);
                if !kept.get(at + 1).copied().unwrap_or(false) {
                    pattern.push('%');
                }
            }
        }
        Some(pattern)
    }

    /// The words of the term, as the characters that join words (`joins`) part it,
    /// of three characters or more: each a term of its own.
    pub fn words(&self, joins: impl Fn(char) -> bool) -> Vec<SearchTerm> {
        self.0
            .split(joins)
            .filter(|word| word.chars().count() >= 3)
            .map(|word| SearchTerm(word.to_owned()))
            .collect()
    }
}

/// `c` written into a `LIKE` pattern whose escape is `\`.
fn push_like_escaped(pattern: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        pattern.push('\\');
    }
    pattern.push(c);
}

/// A short required string (a name or a label): trimmed, 1..200 characters.
pub fn parse_name(field: &str, value: &str) -> Result<String> {
    let trimmed = value.trim_matches(|c: char| c.is_ascii_whitespace());
    let chars = trimmed.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(Error::new(
            ErrorCode::InvalidField,
            format!("{field} must have 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An e-mail address, lower-cased: one `@` with something on both sides and a dot after it.
pub fn parse_email(value: &str) -> Result<String> {
    // The same rule as the spec's pattern: no ASCII control characters or spaces.
    let email = value.to_lowercase();
    let valid = email.chars().count() <= MAX_NAME_CHARS
        && !email.chars().any(|c| c <= ' ')
        && matches!(email.split_once('@'), Some((local, domain))
            if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains('@'));
    if !valid {
        return Err(Error::new(
            ErrorCode::InvalidEmail,
            format!("{value:?} is not an e-mail address"),
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_message_text_is_rejected_as_empty() {
        assert_eq!(MessageText::parse("  \n").unwrap_err().code, ErrorCode::TextEmpty);
    }

    #[test]
    fn a_message_text_of_exactly_the_limit_is_accepted_and_one_more_is_not() {
        assert!(MessageText::parse(&"ж".repeat(MAX_TEXT_CHARS)).is_ok());
        let err = MessageText::parse(&"ж".repeat(MAX_TEXT_CHARS + 1)).unwrap_err();
        assert_eq!(err.code, ErrorCode::TextTooLong);
    }

    #[test]
    fn a_search_term_escapes_like_wildcards() {
        let term = SearchTerm::parse(" 50%_off\\ ").unwrap().unwrap();
        assert_eq!(term.like_pattern(), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn a_search_terms_junctions_are_its_joining_runs_with_a_character_either_side() {
        let joins = |c: char| c == ' ' || c == ',';
        let pattern = |term: &str| SearchTerm::parse(term).unwrap().unwrap().junction_pattern(joins);
        assert_eq!(pattern("Kyiv Lviv Odesa").as_deref(), Some("%v l%v o%"));
        assert_eq!(pattern("kyiv, lviv").as_deref(), Some("%v, l%"));
        // Junctions that share a character are one run: "a b c" is not "a b" then "b c".
        assert_eq!(pattern("kyiv a b lviv").as_deref(), Some("%v a b l%"));
        assert_eq!(pattern("50% off_x").as_deref(), Some("%\\% o%"));
        assert_eq!(pattern(",kyiv lviv,").as_deref(), Some("%v l%"));
        // No junction, or nothing but junctions: no narrower pattern.
        assert_eq!(pattern("kyiv"), None);
        assert_eq!(pattern(",kyiv"), None);
        assert_eq!(pattern("a b"), None);
        let words = SearchTerm::parse("Kyiv, lviv to Odesa").unwrap().unwrap().words(joins);
        let words: Vec<&str> = words.iter().map(SearchTerm::folded).collect();
        assert_eq!(words, ["kyiv", "lviv", "odesa"]);
    }

    #[test]
    fn a_search_term_is_one_fts_phrase() {
        let term = SearchTerm::parse(r#"say "hi" OR x"#).unwrap().unwrap();
        assert_eq!(term.fts_phrase(), r#""say ""hi"" or x""#);
        assert!(term.is_indexable());
        assert!(!SearchTerm::parse("ab").unwrap().unwrap().is_indexable());
    }

    #[test]
    fn a_search_terms_trigrams_are_its_runs_of_three_characters() {
        let term = SearchTerm::parse("Київ \"x").unwrap().unwrap();
        assert_eq!(term.trigrams(), ["киї", "иїв", "їв ", "в \"", " \"x"]);
        assert_eq!(SearchTerm::fts_all_of(&term.trigrams()[3..]), r#""в """ AND " ""x""#);
        assert!(SearchTerm::parse("ab").unwrap().unwrap().trigrams().is_empty());
        assert_eq!(SearchTerm::parse("abc").unwrap().unwrap().trigrams(), ["abc"]);
    }

    #[test]
    fn a_blank_search_term_means_no_search() {
        assert_eq!(SearchTerm::parse("   ").unwrap(), None);
    }

    #[test]
    fn e_mail_addresses_are_lower_cased_and_checked() {
        assert_eq!(parse_email("Ann@Example.COM").unwrap(), "ann@example.com");
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert_eq!(parse_email(bad).unwrap_err().code, ErrorCode::InvalidEmail, "{bad}");
        }
    }
}
