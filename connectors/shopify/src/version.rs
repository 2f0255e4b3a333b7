//! The Admin API version the connector speaks (`/admin/api/{version}/graphql.json`).
//!
//! Shopify releases a stable version every quarter (`YYYY-01`, `-04`, `-07`, `-10`) and
//! keeps each for about twelve months; a request to a retired version is answered by the
//! oldest supported one, whose removed fields then break queries. The version is a
//! gateway setting (`CARTGATE_SHOPIFY_API_VERSION`) with [`DEFAULT_API_VERSION`] as default.
//!
//! Every document in [`crate::queries`] is written for [`DEFAULT_API_VERSION`] and uses
//! fields that first appeared in [`OLDEST_API_VERSION`] (`changeFromQuantity` and the
//! `@idempotent` directive of the inventory mutations), so older versions are refused.
//! Newer versions are accepted (an operator may move ahead of a cartgate release); their
//! changes have not been checked against the documents. See `docs/mapping/shopify.md`.

use std::fmt;
use std::str::FromStr;

/// The version spoken when none is configured: the newest stable release when this
/// connector was last checked against Shopify's changelog (stable since 2026-10-01,
/// accessible until at least 2027-10-01).
pub const DEFAULT_API_VERSION: &str = "2026-10";

/// The oldest version the documents are valid in: 2026-01 introduced `changeFromQuantity`
/// and `@idempotent`, which the inventory write needs (both mandatory from 2026-04).
pub const OLDEST_API_VERSION: &str = "2026-01";

/// A stable Admin API version, `YYYY-MM` with a quarterly month, not older than
/// [`OLDEST_API_VERSION`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion(String);

impl ApiVersion {
    /// Checks a version handle (surrounding blanks are ignored).
    pub fn parse(raw: &str) -> Result<ApiVersion, String> {
        let v = raw.trim();
        let bytes = v.as_bytes();
        let form = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[5..].iter().all(u8::is_ascii_digit);
        if !form {
            return Err(format!(
                "Shopify API version {v:?} is not of the form YYYY-MM, e.g. {DEFAULT_API_VERSION}"
            ));
        }
        if !matches!(&v[5..], "01" | "04" | "07" | "10") {
            return Err(format!(
                "Shopify API version {v:?} does not exist: Shopify releases in January, April, July and October (YYYY-01, -04, -07, -10)"
            ));
        }
        if v < OLDEST_API_VERSION {
            return Err(format!(
                "Shopify API version {v} is older than {OLDEST_API_VERSION}, the oldest cartgate's Shopify queries are written for (the default is {DEFAULT_API_VERSION})"
            ));
        }
        Ok(ApiVersion(v.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GraphQL endpoint under the shop's origin.
    pub fn path(&self) -> String {
        format!("/admin/api/{}/graphql.json", self.0)
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion(DEFAULT_API_VERSION.to_owned())
    }
}

impl FromStr for ApiVersion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiVersion::parse(s)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_quarterly_and_recent_enough() {
        assert_eq!(ApiVersion::default().as_str(), DEFAULT_API_VERSION);
        assert!(ApiVersion::parse(DEFAULT_API_VERSION).is_ok());
        assert!(ApiVersion::parse(OLDEST_API_VERSION).is_ok());
        for ok in ["2026-01", "2026-04", " 2026-07 ", "2027-01"] {
            assert_eq!(ApiVersion::parse(ok).unwrap().as_str(), ok.trim(), "{ok}");
        }
        for (bad, says) in [
            ("2025-01", "older than 2026-01"),
            ("2025-10", "older than"),
            ("2026-08", "January, April, July and October"),
            ("2026-13", "January, April"),
            ("2026-1", "YYYY-MM"),
            ("latest", "YYYY-MM"),
            ("unstable", "YYYY-MM"),
            ("", "YYYY-MM"),
            ("2026/10", "YYYY-MM"),
            ("２０２６-10", "YYYY-MM"),
        ] {
            let err = ApiVersion::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
        assert_eq!(
            ApiVersion::parse("2026-07").unwrap().path(),
            "/admin/api/2026-07/graphql.json"
        );
    }
}
