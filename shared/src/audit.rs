//! The audit log of configuration changes: who, when, what changed, down to
//! the field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub tenant_id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub version: u64,
    pub changes: Vec<FieldChange>,
}

/// One changed leaf, addressed by a JSON Pointer (`/fhir_bases/0/department`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Bookkeeping fields every save changes; listing them would only add noise.
const IGNORED: [&str; 3] = ["/version", "/updated_at", "/updated_by"];

/// Field-level difference between two JSON documents. Objects are compared
/// key by key; arrays of objects with an `id` are matched by id (so removing
/// the first FHIR base does not read as every base changing); other values
/// are compared whole.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = vec![];
    walk("", Some(before), Some(after), &mut out);
    out.retain(|c| !IGNORED.contains(&c.path.as_str()) && !c.path.ends_with("/validation/checked_at"));
    out
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, out: &mut Vec<FieldChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&format!("{path}/{}", escape(k)), x.get(k), y.get(k), out);
            }
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) if by_id(x) && by_id(y) => {
            let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
            let mut ids: Vec<String> = x.iter().chain(y.iter()).map(id).collect();
            ids.dedup();
            let mut seen = std::collections::BTreeSet::new();
            for i in ids.into_iter().filter(|i| seen.insert(i.clone())) {
                let xa = x.iter().find(|v| id(v) == i);
                let yb = y.iter().find(|v| id(v) == i);
                walk(&format!("{path}/{}", escape(&i)), xa, yb, out);
            }
        }
        (a, b) if a != b => out.push(FieldChange { path: path.to_string(), before: a.cloned(), after: b.cloned() }),
        _ => {}
    }
}

fn by_id(items: &[Value]) -> bool {
    items.iter().all(|v| v.get("id").and_then(Value::as_str).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_changed_added_and_removed_leaves() {
        let a = json!({"display_name": "A", "version": 1, "fhir_bases": [
            {"id": "b1", "department": "Cardio", "url": "https://x/1"},
            {"id": "b2", "department": "ER", "url": "https://x/2"}
        ]});
        let b = json!({"display_name": "B", "version": 2, "fhir_bases": [
            {"id": "b2", "department": "Emergency", "url": "https://x/2"}
        ]});
        let d = diff(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["/display_name", "/fhir_bases/b1", "/fhir_bases/b2/department"]);
        assert_eq!(d[1].after, None);
        assert_eq!(d[2].before, Some(json!("ER")));
    }

    #[test]
    fn creation_lists_every_field_and_no_change_lists_none() {
        let doc = json!({"display_name": "A", "fhir_bases": []});
        assert_eq!(diff(&doc, &doc), vec![]);
        let created = diff(&Value::Null, &doc);
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].path, "");
    }
}
