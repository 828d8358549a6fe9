//! The OpenAPI document as served: poem-openapi's OpenAPI 3.0 document, written as
//! OpenAPI 3.1 and completed where the generator leaves something unsaid.
//!
//! - OpenAPI 3.1, because 3.0 cannot say "this reference or null": `nullable` applies
//!   only to a schema's own `type`, so linters flag `nullable` beside `allOf: [$ref]`
//!   and client generators (openapi-python-client) crash on the nulls the server
//!   sends. In 3.1 an optional value is `type: [T, "null"]` and an optional reference
//!   `anyOf: [{$ref}, {type: "null"}]`, which every tool reads the same way.
//! - A described reference keeps one `allOf` entry, the `$ref` (poem-openapi adds a
//!   second that only repeats the description, and generators refuse an `allOf` of
//!   an enum and an object).
//! - An operation without credentials says so with `security: []`, instead of
//!   leaving readers to guess.

use serde_json::{Map, Value};

/// The served document, as JSON and YAML.
pub struct Documents {
    pub json: String,
    pub yaml: String,
}

impl Documents {
    pub fn new(generated: &str) -> Documents {
        let mut doc: Value = serde_json::from_str(generated).expect("poem-openapi writes JSON");
        complete(&mut doc);
        Documents {
            json: serde_json::to_string_pretty(&doc).expect("a JSON value serializes"),
            yaml: serde_yaml::to_string(&doc).expect("a JSON value serializes as YAML"),
        }
    }
}

fn complete(doc: &mut Value) {
    simplify_refs(doc);
    null_as_type(doc);
    doc["openapi"] = Value::String("3.1.0".into());
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for operation in item.values_mut().filter_map(Value::as_object_mut) {
                operation.entry("security").or_insert_with(|| Value::Array(Vec::new()));
            }
        }
    }
}

fn simplify_refs(value: &mut Value) {
    match value {
        Value::Object(object) => {
            simplify_ref(object);
            object.values_mut().for_each(simplify_refs);
        }
        Value::Array(items) => items.iter_mut().for_each(simplify_refs),
        _ => {}
    }
}

/// `{description, nullable, allOf: [{$ref}, {description, nullable}]}` keeps only the
/// `$ref` in its `allOf`: the other entry repeats the parent's own annotations.
fn simplify_ref(object: &mut Map<String, Value>) {
    let Some(Value::Array(all_of)) = object.get("allOf") else {
        return;
    };
    let repeats_parent = |entry: &Value| {
        entry.as_object().is_some_and(|e| {
            e.iter()
                .all(|(k, v)| matches!(k.as_str(), "nullable" | "description") && object.get(k) == Some(v))
        })
    };
    let rest: Vec<Value> = all_of.iter().filter(|e| !repeats_parent(e)).cloned().collect();
    if let [only] = rest.as_slice()
        && only.get("$ref").is_some()
    {
        object.insert("allOf".into(), Value::Array(rest));
    }
}

/// OpenAPI 3.0's `nullable: true` as OpenAPI 3.1 says it.
fn null_as_type(value: &mut Value) {
    match value {
        Value::Object(object) => {
            if let Some(nullable) = object.remove("nullable")
                && nullable == Value::Bool(true)
            {
                allow_null(object);
            }
            object.values_mut().for_each(null_as_type);
        }
        Value::Array(items) => items.iter_mut().for_each(null_as_type),
        _ => {}
    }
}

fn allow_null(schema: &mut Map<String, Value>) {
    let null = || serde_json::json!({"type": "null"});
    if let Some(Value::Array(refs)) = schema.remove("allOf") {
        let mut any_of = refs;
        any_of.push(null());
        schema.insert("anyOf".into(), Value::Array(any_of));
        return;
    }
    match schema.get_mut("type") {
        Some(Value::String(kind)) => {
            let kind = std::mem::take(kind);
            schema.insert("type".into(), serde_json::json!([kind, "null"]));
        }
        Some(Value::Array(kinds)) if !kinds.contains(&Value::String("null".into())) => {
            kinds.push(Value::String("null".into()));
        }
        Some(_) => {}
        None => {
            // Any value, null included, is already allowed.
        }
    }
    if let Some(Value::Array(items)) = schema.get_mut("enum")
        && !items.contains(&Value::Null)
    {
        items.push(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_are_written_as_openapi_3_1_and_public_operations_say_so() {
        let generated = json!({
            "openapi": "3.0.0",
            "paths": {
                "/health": {"get": {"responses": {}}},
                "/chats": {"get": {"security": [{"Bearer": []}], "responses": {}}}
            },
            "components": {"schemas": {
                "Operator": {"type": "object", "properties": {}},
                "State": {"type": "string", "enum": ["open"]},
                "Chat": {"type": "object", "properties": {
                    "operator": {"nullable": true, "description": "The assignee.", "allOf": [
                        {"$ref": "#/components/schemas/Operator"},
                        {"nullable": true, "description": "The assignee."}
                    ]},
                    "note": {"nullable": true, "type": "string"},
                    "count": {"type": "integer"},
                    "kind": {"description": "What.", "allOf": [
                        {"$ref": "#/components/schemas/State"}, {"description": "What."}
                    ]}
                }}
            }}
        });
        let documents = Documents::new(&generated.to_string());
        let doc: Value = serde_json::from_str(&documents.json).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let chat = &doc["components"]["schemas"]["Chat"]["properties"];
        assert_eq!(
            chat["operator"],
            json!({"description": "The assignee.", "anyOf": [
                {"$ref": "#/components/schemas/Operator"}, {"type": "null"}
            ]})
        );
        assert_eq!(chat["note"], json!({"type": ["string", "null"]}));
        assert_eq!(chat["count"], json!({"type": "integer"}));
        assert_eq!(
            chat["kind"],
            json!({"description": "What.", "allOf": [{"$ref": "#/components/schemas/State"}]})
        );
        assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([]));
        assert_eq!(doc["paths"]["/chats"]["get"]["security"], json!([{"Bearer": []}]));
        let yaml: Value = serde_yaml::from_str(&documents.yaml).unwrap();
        assert_eq!(yaml, doc);
    }
}
