//! Test support: the official Admin API schema (../shared/platform-specs), converted from
//! its introspection JSON to SDL so a real validator (apollo-compiler) can use it.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

/// The folder of Shopify's official specs, or `None` (with a printed message) when the
/// shared folder is not beside the workspace.
pub fn specs() -> Option<PathBuf> {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/platform-specs/shopify");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: ../shared/platform-specs/shopify not found");
        None
    }
}

/// The official 2025-01 introspection (`__schema`), or `None` when the specs are absent.
pub fn official_introspection() -> Option<Value> {
    let path = specs()?.join("admin-graphql/admin_schema_2025-01.introspection.json");
    let text = std::fs::read_to_string(&path).expect("the introspection file reads");
    let v: Value = serde_json::from_str(&text).expect("the introspection file is JSON");
    Some(v["data"]["__schema"].clone())
}

/// The official 2025-01 schema as SDL, or `None` when the specs are absent.
pub fn official_sdl() -> Option<String> {
    Some(introspection_to_sdl(&official_introspection()?))
}

/// What Shopify changed since 2025-01 for the parts cartgate uses, from its changelog.
pub const DELTA: &str = include_str!("changelog_delta.graphql");

/// `Type.member` of every `# removed:` line of [`DELTA`].
pub fn removed() -> Vec<(String, String)> {
    DELTA
        .lines()
        .filter_map(|l| l.trim().strip_prefix("# removed:"))
        .map(|r| {
            let (ty, member) = r.trim().split_once('.').expect("removed: Type.member");
            (ty.to_owned(), member.to_owned())
        })
        .collect()
}

/// The schema of the connector's default version as far as cartgate uses it: the
/// official 2025-01 schema with [`DELTA`] applied (removals taken out, additions
/// appended), as SDL; `None` when the specs are absent.
pub fn current_sdl() -> Option<String> {
    let mut schema = official_introspection()?;
    for (ty, member) in removed() {
        let t = schema["types"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|t| t["name"] == ty.as_str())
            .unwrap_or_else(|| panic!("removed: {ty} is not in the official schema"));
        let mut found = false;
        for list in ["fields", "inputFields", "enumValues"] {
            if let Some(a) = t[list].as_array_mut() {
                let before = a.len();
                a.retain(|m| m["name"] != member.as_str());
                found |= a.len() < before;
            }
        }
        assert!(
            found,
            "removed: {ty}.{member} is not in the official schema"
        );
    }
    Some(format!("{}\n{DELTA}", introspection_to_sdl(&schema)))
}

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];
const BUILT_IN_DIRECTIVES: [&str; 4] = ["skip", "include", "deprecated", "specifiedBy"];

fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or("Unknown").to_owned(),
    }
}

fn deprecated(f: &Value) -> String {
    if f["isDeprecated"].as_bool() == Some(true) {
        match f["deprecationReason"].as_str() {
            Some(r) => format!(
                " @deprecated(reason: {})",
                serde_json::to_string(r).unwrap()
            ),
            None => " @deprecated".into(),
        }
    } else {
        String::new()
    }
}

fn input_values(args: &Value) -> String {
    let list: Vec<String> = args
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let mut s =
                        format!("{}: {}", x["name"].as_str().unwrap(), type_ref(&x["type"]));
                    if let Some(d) = x["defaultValue"].as_str() {
                        write!(s, " = {d}").unwrap();
                    }
                    s += &deprecated(x);
                    s
                })
                .collect()
        })
        .unwrap_or_default();
    list.join(", ")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Introspection (`__schema`) → SDL, descriptions left out.
pub fn introspection_to_sdl(schema: &Value) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "schema {{ query: {} mutation: {} }}",
        schema["queryType"]["name"].as_str().unwrap(),
        schema["mutationType"]["name"].as_str().unwrap()
    )
    .unwrap();
    for d in schema["directives"].as_array().into_iter().flatten() {
        let name = d["name"].as_str().unwrap();
        if BUILT_IN_DIRECTIVES.contains(&name) {
            continue;
        }
        let args = input_values(&d["args"]);
        let args = if args.is_empty() {
            String::new()
        } else {
            format!("({args})")
        };
        let locs: Vec<&str> = d["locations"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        writeln!(out, "directive @{name}{args} on {}", locs.join(" | ")).unwrap();
    }
    for t in schema["types"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        match t["kind"].as_str().unwrap() {
            "SCALAR" => {
                if !BUILT_IN_SCALARS.contains(&name) {
                    writeln!(out, "scalar {name}").unwrap();
                }
            }
            kind @ ("OBJECT" | "INTERFACE") => {
                let word = if kind == "OBJECT" {
                    "type"
                } else {
                    "interface"
                };
                let ifaces = names(&t["interfaces"]);
                let imp = if ifaces.is_empty() {
                    String::new()
                } else {
                    format!(" implements {}", ifaces.join(" & "))
                };
                writeln!(out, "{word} {name}{imp} {{").unwrap();
                for f in t["fields"].as_array().unwrap() {
                    let args = input_values(&f["args"]);
                    let args = if args.is_empty() {
                        String::new()
                    } else {
                        format!("({args})")
                    };
                    writeln!(
                        out,
                        "  {}{args}: {}{}",
                        f["name"].as_str().unwrap(),
                        type_ref(&f["type"]),
                        deprecated(f)
                    )
                    .unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
            "UNION" => {
                writeln!(
                    out,
                    "union {name} = {}",
                    names(&t["possibleTypes"]).join(" | ")
                )
                .unwrap();
            }
            "ENUM" => {
                writeln!(out, "enum {name} {{").unwrap();
                for e in t["enumValues"].as_array().unwrap() {
                    writeln!(out, "  {}{}", e["name"].as_str().unwrap(), deprecated(e)).unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
            "INPUT_OBJECT" => {
                let one_of = if t["isOneOf"].as_bool() == Some(true) {
                    " @oneOf"
                } else {
                    ""
                };
                writeln!(out, "input {name}{one_of} {{").unwrap();
                for f in t["inputFields"].as_array().unwrap() {
                    let mut s = format!(
                        "  {}: {}",
                        f["name"].as_str().unwrap(),
                        type_ref(&f["type"])
                    );
                    if let Some(d) = f["defaultValue"].as_str() {
                        write!(s, " = {d}").unwrap();
                    }
                    s += &deprecated(f);
                    writeln!(out, "{s}").unwrap();
                }
                writeln!(out, "}}").unwrap();
            }
            other => panic!("unknown kind {other}"),
        }
    }
    out
}
