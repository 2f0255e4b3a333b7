//! Shopify's Admin schema as of the connector's default version, built from the newest
//! official introspection in ../shared (2025-01) with the changes Shopify published since
//! for what cartgate uses applied (`support/changelog_delta.graphql`), against: every
//! GraphQL document the connector sends (validated by apollo-compiler), and the sandbox's
//! own schema (every type, field, argument, input field and enum value it serves exists
//! in Shopify's with the same type). Skips, saying so, without the specs.

mod support;

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Schema};

/// The official 2025-01 schema as it is.
fn official() -> Option<apollo_compiler::validation::Valid<Schema>> {
    let sdl = support::official_sdl()?;
    Some(
        Schema::parse_and_validate(sdl, "admin_2025-01.graphql")
            .expect("the official schema converts to valid SDL"),
    )
}

/// The official schema with the published changes since 2025-01 applied.
fn current() -> Option<apollo_compiler::validation::Valid<Schema>> {
    let sdl = support::current_sdl()?;
    Some(
        Schema::parse_and_validate(sdl, "admin_2026-10.graphql")
            .expect("the official schema with the changelog delta is valid SDL"),
    )
}

#[test]
fn every_connector_document_validates_against_the_current_schema() {
    let Some(schema) = current() else { return };
    let Some(old) = official() else { return };
    let docs = cartgate_shopify::queries::all_documents();
    assert!(docs.len() >= 22);
    let mut newer = Vec::new();
    for (name, doc) in docs {
        if let Err(e) =
            ExecutableDocument::parse_and_validate(&schema, doc, format!("{name}.graphql"))
        {
            panic!(
                "{name} does not validate against Shopify {}:\n{}",
                cartgate_shopify::DEFAULT_API_VERSION,
                e.errors
            );
        }
        if ExecutableDocument::parse_and_validate(&old, doc, format!("{name}.graphql")).is_err() {
            newer.push(name);
        }
        assert!(
            doc.contains(&format!(" {name}")),
            "{name} names its operation"
        );
    }
    // Only the inventory write needs what is newer than the official file (its
    // changeFromQuantity and @idempotent key).
    assert_eq!(newer, ["CartgateInventoryAdjust"]);
    // And the validator does catch mistakes, removed fields included.
    let bad = "query { shop { nope } }";
    assert!(ExecutableDocument::parse_and_validate(&schema, bad, "bad.graphql").is_err());
    let input_arg = "mutation($p: ProductInput!) { productCreate(input: $p) { product { id } } }";
    assert!(
        ExecutableDocument::parse_and_validate(&schema, input_arg, "old.graphql").is_err(),
        "productCreate(input:) is gone in 2025-01"
    );
    let cas = "mutation($i: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $i) { userErrors { code } } }";
    assert!(ExecutableDocument::parse_and_validate(&schema, cas, "cas.graphql").is_ok());
    let gone = r#"mutation { inventorySetQuantities(input: {name: "available", reason: "correction", ignoreCompareQuantity: true, quantities: []}) { userErrors { code } } }"#;
    assert!(
        ExecutableDocument::parse_and_validate(&schema, gone, "gone.graphql").is_err(),
        "ignoreCompareQuantity is gone in 2026-04"
    );
    assert!(ExecutableDocument::parse_and_validate(&old, gone, "gone.graphql").is_ok());
}

/// Every change the tests take from the changelog (and so was checked only against it) is
/// named in docs/mapping/shopify.md.
#[test]
fn the_changelog_delta_is_documented() {
    let doc = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/mapping/shopify.md"),
    )
    .expect("docs/mapping/shopify.md");
    let mut named: Vec<String> = support::removed()
        .into_iter()
        .map(|(t, m)| format!("{t}.{m}"))
        .collect();
    for line in support::DELTA.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("directive @") {
            named.push(format!("@{}", rest.split('(').next().unwrap()));
        }
    }
    let mut ty = None;
    for line in support::DELTA.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("extend ") {
            ty = rest.split_whitespace().nth(1).map(str::to_owned);
        } else if line == "}" {
            ty = None;
        } else if let (Some(t), false) = (&ty, line.is_empty() || line.starts_with('#')) {
            named.push(format!("{t}.{}", line.split(':').next().unwrap().trim()));
        }
    }
    assert!(named.len() >= 10, "{named:?}");
    for n in named {
        assert!(
            doc.contains(&n),
            "docs/mapping/shopify.md does not name {n}"
        );
    }
}

#[test]
fn the_sandbox_serves_a_subset_of_the_current_schema() {
    let Some(official) = current() else { return };
    let sdl = cartgate_shopify::sandbox::schema_sdl();
    let ours =
        Schema::parse_and_validate(sdl, "sandbox.graphql").expect("the sandbox SDL is valid");
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, ty) in &ours.types {
        if ty.is_built_in() {
            continue;
        }
        checked += 1;
        let Some(theirs) = official.types.get(name) else {
            problems.push(format!("type {name} is not in Shopify's schema"));
            continue;
        };
        match (ty, theirs) {
            (ExtendedType::Scalar(_), ExtendedType::Scalar(_)) => {}
            (ExtendedType::Object(a), ExtendedType::Object(b)) => {
                for i in &a.implements_interfaces {
                    if !b.implements_interfaces.contains(i) {
                        problems.push(format!("{name} implements {} only in the sandbox", i.name));
                    }
                }
                compare_fields(
                    name,
                    a.fields.iter().map(|(n, f)| (n, &***f)),
                    |n| b.fields.get(n).map(|f| &***f),
                    &mut problems,
                );
            }
            (ExtendedType::Interface(a), ExtendedType::Interface(b)) => {
                compare_fields(
                    name,
                    a.fields.iter().map(|(n, f)| (n, &***f)),
                    |n| b.fields.get(n).map(|f| &***f),
                    &mut problems,
                );
            }
            (ExtendedType::Enum(a), ExtendedType::Enum(b)) => {
                for v in a.values.keys() {
                    if !b.values.contains_key(v) {
                        problems.push(format!("enum {name} has no value {v} in Shopify's schema"));
                    }
                }
            }
            (ExtendedType::InputObject(a), ExtendedType::InputObject(b)) => {
                for (f, def) in &a.fields {
                    match b.fields.get(f) {
                        None => {
                            problems.push(format!("input {name}.{f} is not in Shopify's schema"))
                        }
                        Some(o) if o.ty != def.ty => problems.push(format!(
                            "input {name}.{f}: {} vs Shopify's {}",
                            def.ty, o.ty
                        )),
                        _ => {}
                    }
                }
                for (f, o) in &b.fields {
                    if o.ty.is_non_null() && o.default_value.is_none() && !a.fields.contains_key(f)
                    {
                        problems.push(format!("input {name} lacks Shopify's required field {f}"));
                    }
                }
            }
            (ExtendedType::Union(a), ExtendedType::Union(b)) => {
                for m in &a.members {
                    if !b.members.contains(m) {
                        problems.push(format!(
                            "union {name} has no member {} in Shopify's schema",
                            m.name
                        ));
                    }
                }
            }
            _ => problems.push(format!(
                "{name} is another kind of type in Shopify's schema"
            )),
        }
    }
    assert!(checked > 50, "only {checked} types checked");
    assert!(
        problems.is_empty(),
        "the sandbox strays from Shopify's schema:\n{}",
        problems.join("\n")
    );
}

fn compare_fields<'a>(
    ty: &str,
    ours: impl Iterator<
        Item = (
            &'a apollo_compiler::Name,
            &'a apollo_compiler::ast::FieldDefinition,
        ),
    >,
    theirs: impl Fn(&apollo_compiler::Name) -> Option<&'a apollo_compiler::ast::FieldDefinition>,
    problems: &mut Vec<String>,
) {
    for (name, f) in ours {
        if name.starts_with("__") {
            continue;
        }
        let Some(o) = theirs(name) else {
            problems.push(format!("{ty}.{name} is not in Shopify's schema"));
            continue;
        };
        if o.ty != f.ty {
            problems.push(format!("{ty}.{name}: {} vs Shopify's {}", f.ty, o.ty));
        }
        for a in &f.arguments {
            match o.arguments.iter().find(|x| x.name == a.name) {
                None => problems.push(format!(
                    "{ty}.{name}({}) is not an argument in Shopify's schema",
                    a.name
                )),
                Some(x) if x.ty != a.ty => problems.push(format!(
                    "{ty}.{name}({}): {} vs Shopify's {}",
                    a.name, a.ty, x.ty
                )),
                _ => {}
            }
        }
        for x in &o.arguments {
            if x.ty.is_non_null()
                && x.default_value.is_none()
                && !f.arguments.iter().any(|a| a.name == x.name)
            {
                problems.push(format!(
                    "{ty}.{name} lacks Shopify's required argument {}",
                    x.name
                ));
            }
        }
    }
}
