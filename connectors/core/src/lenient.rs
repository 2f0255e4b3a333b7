//! Lenient deserialization helpers for platform payloads, shared by the connectors' pure
//! mappings.
//!
//! Platforms are inconsistent about types: amounts as JSON numbers or strings, ids as
//! integers or strings, flags as `0`/`1` or booleans, objects sent as `[]` (PHP's empty
//! array). The helpers accept any of these instead of failing a whole page over one odd
//! field. Only a missing id or a non-object fails a mapping.

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
