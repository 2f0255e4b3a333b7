//! Lenient deserialization helpers for platform payloads, shared by the connectors' pure
//! mappings.
//!
//! Platforms are inconsistent about types: amounts as JSON numbers or strings, ids as
//! integers or strings, flags as `0`/`1` or booleans, objects sent as `[]` (PHP's empty
//! array). The helpers accept any of these instead of failing a whole page over one odd
//! field. Only a missing id or a non-object fails a mapping.

use std::borrow::Cow;
use std::str::FromStr;

use crate::util::non_empty;
use crate::{ConnectorError, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

// ---------------------------------------------------------------------------------------
// Lenient scalar helpers
// ---------------------------------------------------------------------------------------

/// A string, a number or null, kept as its text (`3` → `"3"`, `"3.00"` → `"3.00"`).
/// Money goes through `util::money` afterwards, so a float never becomes a float amount.
/// Objects and arrays where a scalar was expected read as absent.
pub fn text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// A visitor rather than going through `Value`: mapping runs on every object of every
/// page, and building a throwaway `Value` per field roughly doubled its cost.
struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string, a number or null")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }
    fn visit_string<E: serde::de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Self::Value, E> {
        // serde_json renders floats the same way (shortest round-trip form).
        Ok(v.is_finite().then(|| {
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
        }))
    }
    fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(None)
    }
}

/// Plain text a person reads (names, titles, SKUs, carrier names, address lines, notes) from
/// a platform that may keep it HTML-escaped: read like [`text`], then with its character
/// references decoded once ([`decode_entities`]). WordPress stores `A & B` as `A &amp; B`
/// and WooCommerce names variations `Shirt &ndash; Blue`; the unified model carries the
/// text the shop shows (`A & B`, `Shirt – Blue`). Fields that are HTML by nature
/// (descriptions) are read with [`text`] and left alone.
pub fn plain_text<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<String>, D::Error> {
    Ok(text(d)?.map(decoded))
}

/// Decodes HTML character references, once: named ones of the full HTML5 table (`&amp;`,
/// `&ndash;`, `&trade;`), decimal (`&#8217;`) and hex (`&#x27;`). Only complete references
/// ending in `;` are decoded; unknown names, malformed or invalid numbers (`&#0;`,
/// `&#x110000;`, control characters) and a bare `&` are left as they are, and nothing else
/// changes: tags such as `<b>` stay text, and `&amp;amp;` becomes `&amp;`, not `&`. This
/// is the one place mappings decode; the table is the `html-escape` crate's.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    html_escape::decode_html_entities(s)
}

/// [`decode_entities`] of an owned string, reusing it when there is nothing to decode.
pub fn decoded(s: String) -> String {
    match decode_entities(&s) {
        Cow::Borrowed(_) => s,
        Cow::Owned(d) => d,
    }
}

/// An integer sent as a number or a numeric string; anything else is absent.
pub fn int<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    Ok(text(d)?.and_then(|s| {
        let s = s.trim();
        // Some stores send stock as `5.0`; only whole numbers are quantities.
        s.parse::<i64>().ok().or_else(|| {
            s.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        })
    }))
}

/// A flag: `true`/`false`, `1`/`0`, `"1"`/`"0"`, `"yes"`; absent is false.
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(text(d)?.is_some_and(|s| matches!(s.trim(), "true" | "1" | "yes")))
}

/// A `T` when the value is an object, `None` for anything else. The connectors' structs accept any
/// field types, so this is what makes a whole payload lenient. Deserializing in place
/// (rather than through a cloned `Value`) keeps mapping cheap on big line-item lists.
pub struct Lenient<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|t| Lenient(Some(t)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_some<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> std::result::Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_bool<E: serde::de::Error>(
                self,
                _: bool,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
            fn visit_str<E: serde::de::Error>(
                self,
                _: &str,
            ) -> std::result::Result<Self::Value, E> {
                Ok(Lenient(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Objects that PHP sometimes sends as `[]` (PHP's empty array) or `null`.
pub fn object_or_default<'de, D, T>(d: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Lenient::<T>::deserialize(d)?.0.unwrap_or_default())
}

/// Lists that may arrive as `null` or as something else entirely; elements that are not
/// objects are skipped rather than losing the whole list.
pub fn list_or_empty<'de, D, T>(d: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
            while let Some(item) = seq.next_element::<Lenient<T>>()? {
                out.extend(item.0);
            }
            Ok(out)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            while map
                .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                .is_some()
            {}
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_bool<E: serde::de::Error>(self, _: bool) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_i64<E: serde::de::Error>(self, _: i64) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_u64<E: serde::de::Error>(self, _: u64) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_f64<E: serde::de::Error>(self, _: f64) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_str<E: serde::de::Error>(self, _: &str) -> std::result::Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

/// An id as an integer or a string; `0` and `""` mean "none".
pub fn id_text(id: Option<&str>) -> Option<String> {
    non_empty(id).filter(|s| s != "0")
}

/// Parses the object into `T`, turning a non-object or a shape error into a clear
/// upstream error instead of a panic.
pub fn parse<T: serde::de::DeserializeOwned>(raw: &Value, what: &str) -> Result<T> {
    if !raw.is_object() {
        return Err(ConnectorError::bad_body(
            what,
            format!("expected a JSON object, got {}", json_kind(raw)),
        ));
    }
    T::deserialize(raw).map_err(|e| ConnectorError::bad_body(what, e))
}

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn require_id(id: Option<&str>, what: &str) -> Result<String> {
    id_text(id).ok_or_else(|| ConnectorError::bad_body(what, "it has no id"))
}

pub fn decimal(s: &str) -> Option<Decimal> {
    Decimal::from_str(s.trim()).ok()
}

/// `d` shown with at least the scale of `reference` (`3` beside `"6.00"` → `3.00`), and
/// trailing zeros beyond that trimmed (`3.3333…30` stays exact but without padding).
pub fn with_scale_of(d: Decimal, reference: Option<Decimal>) -> Decimal {
    let scale = reference.map_or(0, |r| r.scale());
    let mut out = d.normalize();
    if out.scale() < scale {
        out.rescale(scale);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Named {
        #[serde(deserialize_with = "plain_text")]
        name: Option<String>,
        #[serde(deserialize_with = "text")]
        description: Option<String>,
    }

    fn plain(s: &str) -> String {
        decode_entities(s).into_owned()
    }

    #[test]
    fn named_references_of_the_html5_table() {
        assert_eq!(plain("Fish &amp; Chips"), "Fish & Chips");
        assert_eq!(
            plain("Ship Your Idea &ndash; Color: Black"),
            "Ship Your Idea – Color: Black"
        );
        assert_eq!(plain("&quot;Tee&quot; &lt;XL&gt;"), "\"Tee\" <XL>");
        assert_eq!(
            plain("Minerva LumaTech&trade; V-Tee"),
            "Minerva LumaTech™ V-Tee"
        );
        assert_eq!(plain("Woo Album #2 &times; 1"), "Woo Album #2 × 1");
        assert_eq!(plain("S&atilde;o Paulo, Cear&aacute;"), "São Paulo, Ceará");
        // HTML5-only names, beyond HTML 4's 252.
        assert_eq!(
            plain("&apos;&NotEqualTilde;&bigstar;&AMP;"),
            "'\u{2242}\u{338}★&"
        );
        assert_eq!(plain("a&nbsp;b"), "a\u{a0}b");
    }

    #[test]
    fn numeric_references() {
        assert_eq!(plain("Tom&#8217;s Mug"), "Tom’s Mug");
        assert_eq!(plain("&#82;&#36;"), "R$");
        assert_eq!(plain("&#197;land"), "Åland");
        assert_eq!(plain("it&#x27;s &#X2013; &#x1F600;"), "it's – 😀");
        assert_eq!(plain("&#038;"), "&");
    }

    #[test]
    fn invalid_or_unknown_references_stay_as_they_are() {
        for s in [
            "AT&T",
            "Salt & pepper",
            "&",
            "&;",
            "&#;",
            "&#x;",
            "&nosuchentity;",
            "&Amp;",
            "&amp",
            "&copy 2024",
            "&#0;",
            "&#1;",
            "&#x110000;",
            "&#xD800;",
            "&#99999999999999999999;",
            "&#-38;",
            "&#x+26;",
            "&#12a;",
            "Q&A; R&D",
        ] {
            assert_eq!(plain(s), s, "{s}");
        }
        // A broken reference does not stop the next one.
        assert_eq!(plain("&bogus; &amp; &#0; &lt;"), "&bogus; & &#0; <");
        assert_eq!(plain("a & b &amp c &amp; d"), "a & b &amp c & d");
    }

    #[test]
    fn decodes_once() {
        assert_eq!(plain("&amp;amp;"), "&amp;");
        assert_eq!(plain("&amp;lt;b&amp;gt;"), "&lt;b&gt;");
        assert_eq!(plain("&amp;#8217;"), "&#8217;");
        assert_eq!(plain(&plain("&amp;amp;")), "&");
    }

    #[test]
    fn only_references_change() {
        // Tags are text in a plain-text field: nothing is stripped.
        assert_eq!(plain("<b>x</b> &amp; <i>y</i>"), "<b>x</b> & <i>y</i>");
        for s in [
            "",
            "plain",
            "Zoë Łukasiewicz-Müller",
            "東京都 珈琲",
            "🎁 «Ünïcode»",
        ] {
            assert_eq!(plain(s), s);
            assert!(
                matches!(decode_entities(s), Cow::Borrowed(_)),
                "no copy for {s}"
            );
        }
        assert_eq!(plain("Crème &amp; brûlée — 東京"), "Crème & brûlée — 東京");
        assert_eq!(decoded("Fish &amp; Chips".to_owned()), "Fish & Chips");
    }

    #[test]
    fn the_reader_decodes_plain_text_only() {
        let n: Named = parse(
            &json!({"name": "Hoodie &ndash; Blue &amp; Grey", "description": "<p>Warm &amp; soft</p>"}),
            "thing",
        )
        .unwrap();
        assert_eq!(n.name.as_deref(), Some("Hoodie – Blue & Grey"));
        assert_eq!(n.description.as_deref(), Some("<p>Warm &amp; soft</p>"));
        // Lenient like `text`: numbers are text, null and objects are absent.
        let n: Named = parse(&json!({"name": 42}), "thing").unwrap();
        assert_eq!(n.name.as_deref(), Some("42"));
        for v in [json!(null), json!({"a": 1}), json!([1])] {
            let n: Named = parse(&json!({ "name": v }), "thing").unwrap();
            assert_eq!(n.name, None);
        }
    }
}
