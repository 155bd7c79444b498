//! A FHIR base's watch list for the notification job: the Millennium
//! location and practitioner ids the health system's analysts give. Each id
//! is checked by reading it with the base's Backend Services token; its name
//! is shown, never stored. The job's health is read here too.

use serde_json::Value;
use shared::kv_keys;
use shared::tenant::{ClientAuthMethod, FhirBase, IssEntry, Tenant};
use shared::watch::{Checked, Health, IdProblem as Problem, Named, Watch, WatchView};
use worker::{Request, Response};

use super::fhir_bases::throttle;
use super::tenants::{load, load_for_write, stamp, tenant_response};
use crate::admin::auth::Principal;
use crate::ctx::Ctx;
use crate::ehr::{backend, fhir};
use crate::error::{Error, Result};
use crate::http::{id_param, json, read_json};
use crate::storage::config::ConfigStore;
use crate::storage::kv;

fn base<'a>(tenant: &'a Tenant, base_id: &str) -> Result<&'a FhirBase> {
    tenant.fhir_bases.iter().find(|b| b.id == base_id).ok_or_else(|| Error::not_found("The FHIR base"))
}

/// A person-readable name of a Location or Practitioner resource.
fn name_of(r: &Value) -> Option<String> {
    r["name"].as_str().map(str::to_string).or_else(|| {
        let n = r["name"].as_array()?.first()?;
        n["text"].as_str().map(str::to_string).or_else(|| {
            let given: Vec<&str> = n["given"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            Some(format!("{} {}", given.join(" "), n["family"].as_str().unwrap_or_default()).trim().to_string())
        })
    })
}

/// Reads every id with the base's Backend Services token, six at a time.
async fn check(ctx: &Ctx, tenant: &Tenant, base: &FhirBase, watch: &Watch) -> Result<Checked> {
    let mut problems: Vec<Problem> = watch.problems().into_iter().map(|(field, message)| Problem { field, message }).collect();
    if !problems.is_empty() || watch.is_empty() {
        return Ok(Checked { found: vec![], problems });
    }
    if base.client.auth_method != ClientAuthMethod::PrivateKeyJwt {
        return Err(Error::new(
            409,
            "watch_needs_backend_services",
            "The notification job uses SMART Backend Services: give this FHIR base a private_key_jwt client first.",
        ));
    }
    let token = backend::system_token(ctx, &IssEntry::for_base(tenant, base)).await?;
    let wanted: Vec<(&'static str, &'static str, usize, &String)> = watch
        .locations
        .iter()
        .enumerate()
        .map(|(i, id)| ("location", "Location", i, id))
        .chain(watch.practitioners.iter().enumerate().map(|(i, id)| ("practitioner", "Practitioner", i, id)))
        .collect();
    use futures_util::stream::{self, StreamExt};
    let token = &token;
    let read: Vec<_> = stream::iter(wanted)
        .map(|(kind, ty, i, id)| async move { (kind, i, id.clone(), fhir::read(&base.url, token, &format!("{ty}/{id}"), kind).await) })
        .buffered(6)
        .collect()
        .await;
    let mut found = vec![];
    for (kind, i, id, r) in read {
        match r {
            Ok(res) => found.push(Named { kind: kind.into(), name: name_of(&res).unwrap_or_else(|| "(no name)".into()), id }),
            Err(e) if e.status == 404 => problems.push(Problem {
                field: format!("watch.{kind}s.{i}"),
                message: format!("The EHR has no {kind} {id}. Check the id with the analysts."),
            }),
            Err(e) => return Err(e),
        }
    }
    Ok(Checked { found, problems })
}

/// `POST …/fhir-bases/{base}/watch/check`: the names of the ids, or what is wrong with them.
pub async fn check_ids(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    let base_id = id_param(base_id, "fhir_base")?;
    let tenant = load(ctx, who, id).await?;
    let watch: Watch = read_json(req).await?;
    throttle(ctx, who).await?;
    json(200, &check(ctx, &tenant, base(&tenant, base_id)?, &watch).await?)
}

/// `PUT …/fhir-bases/{base}/watch` (If-Match): saved only when every id is found.
pub async fn put(req: &mut Request, ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    let base_id = id_param(base_id, "fhir_base")?;
    let (mut tenant, expected) = load_for_write(req, ctx, who, id).await?;
    let watch: Watch = read_json(req).await?;
    if let Some((field, message)) = watch.problems().into_iter().next() {
        return Err(Error::bad_request("invalid_watch", message).field(field));
    }
    throttle(ctx, who).await?;
    let checked = check(ctx, &tenant, base(&tenant, base_id)?, &watch).await?;
    if let Some(p) = checked.problems.into_iter().next() {
        return Err(Error::new(422, "watch_id_unknown", p.message).field(p.field));
    }
    let b = tenant.fhir_bases.iter_mut().find(|b| b.id == base_id).ok_or_else(|| Error::not_found("The FHIR base"))?;
    b.watch = watch;
    stamp(&mut tenant, who);
    let saved = ConfigStore::new(&ctx.env)?.save(tenant, expected, "fhir_base.watch").await?;
    tenant_response(200, &saved)
}

/// `GET …/fhir-bases/{base}/watch`: the list and the job's last look.
pub async fn get(ctx: &Ctx, who: &Principal, id: &str, base_id: &str) -> Result<Response> {
    let base_id = id_param(base_id, "fhir_base")?;
    let tenant = load(ctx, who, id).await?;
    let b = base(&tenant, base_id)?;
    let health: Health = kv::json(&kv::store(&ctx.env)?, &kv_keys::watch_health(&b.id)).await.ok().flatten().unwrap_or_default();
    json(200, &WatchView { watch: b.watch.clone(), health })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_locations_and_practitioners() {
        assert_eq!(name_of(&serde_json::json!({"name": "Westport Clinic"})).as_deref(), Some("Westport Clinic"));
        assert_eq!(name_of(&serde_json::json!({"name": [{"text": "Dr. A"}]})).as_deref(), Some("Dr. A"));
        assert_eq!(name_of(&serde_json::json!({"name": [{"given": ["Ann", "B"], "family": "Cole"}]})).as_deref(), Some("Ann B Cole"));
    }
}
