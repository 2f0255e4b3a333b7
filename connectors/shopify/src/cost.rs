//! Query cost, the way Shopify documents it for the GraphQL Admin API, as an
//! approximation that needs only the query (no schema):
//!
//! | selection | requested cost |
//! |---|---|
//! | a scalar or enum field (no sub-selection) | 0 |
//! | an object field (a sub-selection, no `first`/`last`) | 1 + its selection |
//! | a connection or list with `first`/`last: n` | 2 + n × (1 + a node's selection) |
//! | a top-level mutation field | 10 + its selection |
//!
//! A connection's node selection is what sits under `nodes` or `edges { node }` (the wider
//! of the two when both are asked); `pageInfo` and `cursor` are free. Fragments add their
//! fields. Introspection fields (`__typename`, …) are free.
//!
//! The actual cost is computed the same way over the answer: a connection costs 2 plus
//! its returned nodes, a null object 1 without its selection. The sandbox charges with
//! these; the connector uses [`requested`] to size its pages (Shopify refuses a query
//! whose requested cost exceeds [`MAX_QUERY_COST`]) and as a first estimate before it has
//! seen Shopify's own `requestedQueryCost` for a document.

use std::collections::HashMap;

use async_graphql::parser::types::{
    ExecutableDocument, Field, FragmentDefinition, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::parser::Positioned;
use async_graphql::Name;
use async_graphql_value::Value as GqlValue;
use serde_json::Value;

/// Shopify refuses a single query whose requested cost exceeds this.
pub const MAX_QUERY_COST: u64 = 1000;
/// What a mutation field costs by itself.
pub const MUTATION_COST: u64 = 10;

type Fragments = HashMap<Name, Positioned<FragmentDefinition>>;

/// A parsed document and the operation to run.
pub struct Costed {
    doc: ExecutableDocument,
    operation: Option<String>,
}

impl Costed {
    pub fn parse(query: &str, operation: Option<&str>) -> Result<Costed, String> {
        let doc = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
        Ok(Costed {
            doc,
            operation: operation.map(str::to_owned),
        })
    }

    fn operation(&self) -> Option<&OperationDefinition> {
        let mut ops = self.doc.operations.iter();
        match &self.operation {
            Some(name) => ops
                .find(|(n, _)| n.is_some_and(|n| n.as_str() == name))
                .map(|(_, op)| &op.node),
            None if ops.len() == 1 => ops.next().map(|(_, op)| &op.node),
            None => None,
        }
    }

    pub fn is_mutation(&self) -> bool {
        self.operation()
            .is_some_and(|op| op.ty == OperationType::Mutation)
    }

    /// The root fields of a mutation (empty for a query).
    pub fn mutation_fields(&self) -> Vec<&str> {
        let Some(op) = self
            .operation()
            .filter(|op| op.ty == OperationType::Mutation)
        else {
            return Vec::new();
        };
        op.selection_set
            .node
            .items
            .iter()
            .filter_map(|s| match &s.node {
                Selection::Field(f) => Some(f.node.name.node.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The requested cost with these variables (`None`: no such operation).
    pub fn requested(&self, variables: &Value) -> Option<u64> {
        let op = self.operation()?;
        let cx = Cx {
            vars: variables,
            fragments: &self.doc.fragments,
        };
        let mutation = op.ty == OperationType::Mutation;
        Some(
            op.selection_set
                .node
                .items
                .iter()
                .map(|s| cx.selection(s, mutation))
                .sum(),
        )
    }

    /// The actual cost of `data` (the answer's `data`) for this operation.
    pub fn actual(&self, variables: &Value, data: &Value) -> Option<u64> {
        let op = self.operation()?;
        let cx = Cx {
            vars: variables,
            fragments: &self.doc.fragments,
        };
        let mutation = op.ty == OperationType::Mutation;
        Some(cx.actual_set(&op.selection_set.node, data, mutation))
    }
}

/// The requested cost of `query` (one operation, or the one named) with `variables`.
pub fn requested(query: &str, operation: Option<&str>, variables: &Value) -> Option<u64> {
    Costed::parse(query, operation).ok()?.requested(variables)
}

struct Cx<'a> {
    vars: &'a Value,
    fragments: &'a Fragments,
}

/// Fragment nesting deeper than this is cut (a cycle is a validation error anyway).
const MAX_DEPTH: usize = 32;

impl Cx<'_> {
    fn size(&self, f: &Field) -> Option<u64> {
        let arg = f
            .arguments
            .iter()
            .find(|(n, _)| n.node == "first" || n.node == "last")?;
        let n = match &arg.1.node {
            GqlValue::Number(n) => n.as_u64(),
            GqlValue::Variable(v) => self.vars.get(v.as_str()).and_then(Value::as_u64),
            _ => None,
        };
        // `first: null` or an unknown variable still pages: Shopify's defaults are small.
        Some(n.unwrap_or(0))
    }

    /// The fields of a selection set, fragments flattened.
    fn fields<'s>(&'s self, set: &'s SelectionSet, out: &mut Vec<&'s Field>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => out.push(&f.node),
                Selection::InlineFragment(i) => {
                    self.fields(&i.node.selection_set.node, out, depth + 1)
                }
                Selection::FragmentSpread(s) => {
                    if let Some(def) = self.fragments.get(&s.node.fragment_name.node) {
                        self.fields(&def.node.selection_set.node, out, depth + 1);
                    }
                }
            }
        }
    }

    fn selection(&self, s: &Positioned<Selection>, mutation: bool) -> u64 {
        let set = SelectionSet {
            items: vec![s.clone()],
        };
        let mut fields = Vec::new();
        self.fields(&set, &mut fields, 0);
        fields.iter().map(|f| self.field(f, mutation)).sum()
    }

    fn set(&self, set: &SelectionSet) -> u64 {
        let mut fields = Vec::new();
        self.fields(set, &mut fields, 0);
        fields.iter().map(|f| self.field(f, false)).sum()
    }

    /// The selection of one node of a connection (or list) field.
    fn node_set<'s>(&'s self, f: &'s Field) -> Vec<&'s SelectionSet> {
        let mut fields = Vec::new();
        self.fields(&f.selection_set.node, &mut fields, 0);
        let mut sets = Vec::new();
        let mut wrapped = false;
        for c in &fields {
            match c.name.node.as_str() {
                "nodes" => {
                    wrapped = true;
                    sets.push(&c.selection_set.node);
                }
                "edges" => {
                    wrapped = true;
                    let mut inner = Vec::new();
                    self.fields(&c.selection_set.node, &mut inner, 0);
                    sets.extend(
                        inner
                            .into_iter()
                            .filter(|e| e.name.node == "node")
                            .map(|e| &e.selection_set.node),
                    );
                }
                _ => {}
            }
        }
        if !wrapped {
            sets.push(&f.selection_set.node);
        }
        sets
    }

    fn field(&self, f: &Field, mutation: bool) -> u64 {
        if f.name.node.starts_with("__") {
            return 0;
        }
        if mutation {
            return MUTATION_COST + self.set(&f.selection_set.node);
        }
        if f.selection_set.node.items.is_empty() {
            return 0;
        }
        match self.size(f) {
            Some(n) => {
                let node = self
                    .node_set(f)
                    .into_iter()
                    .map(|s| self.set(s))
                    .max()
                    .unwrap_or(0);
                2 + n.saturating_mul(1 + node)
            }
            None => 1 + self.set(&f.selection_set.node),
        }
    }

    fn actual_set(&self, set: &SelectionSet, data: &Value, mutation: bool) -> u64 {
        let mut fields = Vec::new();
        self.fields(set, &mut fields, 0);
        let mut seen = std::collections::HashSet::new();
        fields
            .into_iter()
            .filter(|f| {
                // The same response key selected twice (fragments) is one value.
                let key = f.alias.as_ref().unwrap_or(&f.name).node.as_str();
                seen.insert(key)
            })
            .map(|f| {
                let key = f.alias.as_ref().unwrap_or(&f.name).node.as_str();
                self.actual_field(f, data.get(key).unwrap_or(&Value::Null), mutation)
            })
            .sum()
    }

    fn actual_field(&self, f: &Field, v: &Value, mutation: bool) -> u64 {
        if f.name.node.starts_with("__") || (f.selection_set.node.items.is_empty() && !mutation) {
            return 0;
        }
        if mutation {
            return MUTATION_COST + self.actual_set(&f.selection_set.node, v, false);
        }
        if self.size(f).is_some() {
            let nodes: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                Value::Object(o) => {
                    if let Some(Value::Array(n)) = o.get("nodes") {
                        n.iter().collect()
                    } else if let Some(Value::Array(e)) = o.get("edges") {
                        e.iter().filter_map(|e| e.get("node")).collect()
                    } else {
                        Vec::new()
                    }
                }
                _ => Vec::new(),
            };
            let sets = self.node_set(f);
            let per: u64 = nodes
                .iter()
                .map(|n| {
                    1 + sets
                        .iter()
                        .map(|s| self.actual_set(s, n, false))
                        .max()
                        .unwrap_or(0)
                })
                .sum();
            return 2 + per;
        }
        match v {
            Value::Null => 1,
            Value::Array(items) => items
                .iter()
                .map(|i| 1 + self.actual_set(&f.selection_set.node, i, false))
                .sum::<u64>()
                .max(1),
            other => 1 + self.actual_set(&f.selection_set.node, other, false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_shapes() {
        let q = "query { shop { name currencyCode } }";
        assert_eq!(requested(q, None, &json!({})), Some(1));
        let q = "query($n: Int!) { orders(first: $n) { pageInfo { hasNextPage } nodes { id customer { id } } } }";
        assert_eq!(requested(q, None, &json!({"n": 10})), Some(2 + 10 * 2));
        let q = "query { products(first: 3) { edges { cursor node { id variants(first: 2) { nodes { id } } } } } }";
        assert_eq!(requested(q, None, &json!({})), Some(2 + 3 * (1 + 2 + 2)));
        let q = "mutation { productUpdate(product: {id: \"x\"}) { product { id } userErrors { message } } }";
        assert_eq!(requested(q, None, &json!({})), Some(10 + 1 + 1));
    }

    #[test]
    fn fragments_and_actual_cost() {
        let q = "query Q($n: Int!) { orders(first: $n) { nodes { ...F } } } fragment F on Order { id lineItems(first: 5) { nodes { id } } }";
        let c = Costed::parse(q, Some("Q")).expect("parses");
        assert_eq!(c.requested(&json!({"n": 2})), Some(2 + 2 * (1 + 2 + 5)));
        let data =
            json!({"orders": {"nodes": [{"id": "1", "lineItems": {"nodes": [{"id": "a"}]}}]}});
        assert_eq!(c.actual(&json!({"n": 2}), &data), Some(2 + (1 + 2 + 1)));
        assert_eq!(
            c.requested(&json!({})),
            Some(2),
            "unknown size pages nothing"
        );
        assert!(Costed::parse("query {", None).is_err());
    }
}
