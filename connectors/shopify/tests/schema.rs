//! Shopify's official 2025-01 Admin schema (introspection JSON in ../shared) against:
//! every GraphQL document the connector sends (validated by apollo-compiler), and the
//! sandbox's own schema (every type, field, argument, input field and enum value it
//! serves exists in Shopify's with the same type). Skips, saying so, without the specs.

mod support;

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::{ExecutableDocument, Schema};

fn official() -> Option<apollo_compiler::validation::Valid<Schema>> {
    let sdl = support::official_sdl()?;
    Some(
        Schema::parse_and_validate(sdl, "admin_2025-01.graphql")
            .expect("the official schema converts to valid SDL"),
    )
}

#[test]
fn every_connector_document_validates_against_the_official_schema() {
    let Some(schema) = official() else { return };
    let docs = cartgate_shopify::queries::all_documents();
    assert!(docs.len() >= 19);
    for (name, doc) in docs {
        if let Err(e) =
            ExecutableDocument::parse_and_validate(&schema, doc, format!("{name}.graphql"))
        {
            panic!(
                "{name} does not validate against Shopify 2025-01:\n{}",
                e.errors
            );
        }
        assert!(
            doc.contains(&format!(" {name}")),
            "{name} names its operation"
        );
    }
    // And the validator does catch mistakes.
    let bad = "query { shop { nope } }";
    assert!(ExecutableDocument::parse_and_validate(&schema, bad, "bad.graphql").is_err());
    let old = "mutation($p: ProductInput!) { productCreate(input: $p) { product { id } } }";
    assert!(
        ExecutableDocument::parse_and_validate(&schema, old, "old.graphql").is_err(),
        "productCreate(input:) is gone in 2025-01"
    );
}

#[test]
fn the_sandbox_serves_a_subset_of_the_official_schema() {
    let Some(official) = official() else { return };
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
