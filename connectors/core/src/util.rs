//! Small pure helpers shared by mappers: money, times, empty strings, path segments.

use chrono::{DateTime, NaiveDateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
pub use rust_decimal::Decimal;
use std::str::FromStr;

/// `Some(s)` unless the string is empty or only whitespace: absent data is `null`, not `""`.
pub fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Parses a decimal amount and renders it canonically (no exponent, no float rounding).
/// Returns `None` for absent, empty or non-numeric input.
pub fn money(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    if s.is_empty() {
        return None;
    }
    Decimal::from_str(s).ok().map(|d| d.to_string())
}

/// Sums decimal strings exactly; `None` when any is unreadable.
pub fn money_sum<'a>(items: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut total = Decimal::ZERO;
    for s in items {
        total += Decimal::from_str(s.trim()).ok()?;
    }
    Some(total.to_string())
}

/// Parses a timestamp as platforms send it: RFC 3339 with an offset, or a naive
/// `YYYY-MM-DDTHH:MM:SS` / `YYYY-MM-DD HH:MM:SS` that the platform documents as UTC.
pub fn utc_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

/// Everything but unreserved characters is encoded, so an id can never add a path level.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment for an upstream URL.
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Checks an id taken from a client before it is used in an upstream path: 1..=128
/// printable ASCII characters, no `/`, `\`, `?`, `#`, `%` and not `.` or `..`.
pub fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'\\' | b'?' | b'#' | b'%'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_canonical_and_exact() {
        assert_eq!(money(Some("19.990")), Some("19.990".into()));
        assert_eq!(money(Some("")), None);
        assert_eq!(money(Some("abc")), None);
        assert_eq!(money_sum(["0.1", "0.2"]), Some("0.3".into()));
        assert_eq!(money_sum(["1.125", "2.000"]), Some("3.125".into()));
    }

    #[test]
    fn times_are_utc() {
        let t = utc_time(Some("2017-03-22T16:28:02")).unwrap();
        assert_eq!(t.to_rfc3339(), "2017-03-22T16:28:02+00:00");
        let t = utc_time(Some("2017-03-22T16:28:02-03:00")).unwrap();
        assert_eq!(t.to_rfc3339(), "2017-03-22T19:28:02+00:00");
        assert_eq!(utc_time(Some("nope")), None);
    }

    #[test]
    fn ids_cannot_escape_a_path() {
        assert!(valid_id("123"));
        assert!(valid_id("gid:__Order-1"));
        assert!(!valid_id(".."));
        assert!(!valid_id("1/2"));
        assert!(!valid_id("a%2F"));
        assert!(!valid_id(""));
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }
}
