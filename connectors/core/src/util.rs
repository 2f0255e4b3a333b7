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

/// Reads one credential string field of `platform`'s credentials: trimmed, non-empty when
/// required. Type errors name the field but never echo the value (it may be a secret).
pub fn credential_str(
    platform: &str,
    obj: &serde_json::Map<String, serde_json::Value>,
    name: &str,
    required: bool,
) -> crate::Result<Option<String>> {
    use crate::ConnectorError::Validation;
    use serde_json::Value;
    match obj.get(name) {
        None | Some(Value::Null) if !required => Ok(None),
        None | Some(Value::Null) => {
            Err(Validation(format!("{platform} credentials need {name:?}")))
        }
        Some(Value::String(s)) => match (s.trim(), required) {
            ("", true) => Err(Validation(format!(
                "{platform} credential {name:?} must not be empty"
            ))),
            ("", false) => Ok(None),
            (s, _) => Ok(Some(s.to_owned())),
        },
        Some(_) => Err(Validation(format!(
            "{platform} credential {name:?} must be a string"
        ))),
    }
}

/// A credential that is an http(s) base URL: a host, no user, query or fragment; answered
/// without a trailing slash. (SSRF rules are `Upstream::check_url`'s, at use.)
pub fn credential_base_url(platform: &str, name: &str, s: &str) -> crate::Result<String> {
    use crate::ConnectorError::Validation;
    let url = url::Url::parse(s)
        .map_err(|e| Validation(format!("{platform} credential {name:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Validation(format!(
            "{platform} credential {name:?} must be an http(s) URL with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Validation(format!(
            "{platform} credential {name:?} must not carry a user or password"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Validation(format!(
            "{platform} credential {name:?} must not have a query or fragment"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
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
