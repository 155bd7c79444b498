//! The tenants table, and (for platform admins) a new tenant.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::ids::{is_valid_id, ID_RULE};
use shared::tenant::{Environment, Tenant};

use crate::api::{self, Csrf, Saved};
use crate::route::Section;
use crate::widgets::save::failure_view;
use crate::widgets::status::ErrorPanel;

/// What a tenant row opens: a section, as the first-set-up wizard or as a plain page.
pub type Open = (Tenant, Section, bool);

/// An id suggested from the name: "St. Mary's Clinic" → "st-mary-s-clinic".
pub fn suggest_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.truncate(40);
    id.trim_end_matches('-').to_string()
}

/// How many of the tenant's FHIR bases are in `env`.
pub fn count_bases(tenant: &Tenant, env: Environment) -> usize {
    tenant.fhir_bases.iter().filter(|b| b.environment == env).count()
}

/// Name and id, checked as they are typed; on success the wizard opens.
#[component]
fn NewTenant(on_open: Callback<Open>) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let name = RwSignal::new(String::new());
    let id = RwSignal::new(String::new());
    let id_touched = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<api::Failure>);
    let id_problem = Memo::new(move |_| {
        let v = id.get();
        (!v.is_empty() && !is_valid_id(&v)).then_some(ID_RULE)
    });
    let ready = move || !name.get().trim().is_empty() && is_valid_id(&id.get()) && !busy.get();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !ready() {
            return;
        }
        busy.set(true);
        error.set(None);
        let csrf = csrf.clone();
        spawn_local(async move {
            match api::create_tenant(id.get_untracked(), name.get_untracked().trim().to_string(), csrf).await {
                Saved::Ok(t) => on_open.run((*t, Section::FhirBases, true)),
                Saved::Failed(f, _) | Saved::Invalid(_, f) => error.set(Some(f)),
                Saved::Conflict(_) => error.set(Some(api::Failure {
                    code: "tenant_exists".into(),
                    message: "A tenant with this id already exists. Choose another id.".into(),
                })),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="new-tenant" aria-labelledby="new-tenant-title" on:submit=create>
            <h2 id="new-tenant-title">"New tenant"</h2>
            <label for="nt-name">"Health system name"</label>
            <input id="nt-name" type="text" autocomplete="organization" prop:value=move || name.get() on:input=move |ev| {
                let v = event_target_value(&ev);
                if !id_touched.get_untracked() { id.set(suggest_id(&v)); }
                name.set(v);
            }/>
            <label for="nt-id">"Tenant id " <small>"(in URLs; cannot be changed later)"</small></label>
            <input id="nt-id" type="text" spellcheck="false" aria-describedby="nt-id-help" aria-invalid=move || id_problem.get().is_some().to_string()
                prop:value=move || id.get() on:input=move |ev| { id_touched.set(true); id.set(event_target_value(&ev)) }/>
            <p id="nt-id-help" class=move || if id_problem.get().is_some() { "field-error" } else { "hint" }>{move || id_problem.get().unwrap_or(ID_RULE)}</p>
            <p class="actions">
                <button type="submit" class="button" disabled=move || !ready()>"Create and set up"</button>
                {move || busy.get().then(|| view! { <span role="status" class="progress">" Creating…"</span> })}
            </p>
            {move || error.get().map(failure_view)}
        </form>
    }
}

#[component]
pub fn Tenants(on_open: Callback<Open>, platform: bool) -> impl IntoView {
    let tenants = LocalResource::new(api::tenants);
    let retry = Callback::new(move |()| {
        tenants.set(None);
        tenants.refetch();
    });
    let busy = move || if tenants.with(Option::is_none) { "true" } else { "false" };
    view! {
        <section class="tenants" aria-label="Tenants" aria-busy=busy>
            {move || match tenants.get() {
                None => view! { <p role="status" class="loading">"Loading…"</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="empty">"No tenants yet."</p> }.into_any()
                }
                Some(Ok(list)) => view! { <TenantTable tenants=list on_open/> }.into_any(),
                Some(Err(failure)) => view! {
                    <ErrorPanel title="Could not load the tenants" failure on_retry=retry/>
                }
                .into_any(),
            }}
            {platform.then(|| view! { <NewTenant on_open/> })}
        </section>
    }
}

#[component]
fn TenantTable(tenants: Vec<Tenant>, on_open: Callback<Open>) -> impl IntoView {
    let rows = tenants
        .into_iter()
        .map(|t| {
            let test = count_bases(&t, Environment::Test);
            let production = count_bases(&t, Environment::Production);
            let name = t.display_name.clone();
            let (open, wizard, settings) = (t.clone(), t.clone(), t.clone());
            let set_up = format!("Set up {name}");
            view! {
                <tr>
                    <th scope="row">{t.display_name}</th>
                    <td><code>{t.id}</code></td>
                    <td class="num">{test}</td>
                    <td class="num">{production}</td>
                    <td class="num">{t.version}</td>
                    <td>
                        <button type="button" class="button button-secondary" aria-label=set_up on:click=move |_| on_open.run((wizard.clone(), Section::FhirBases, true))>"Set up"</button>
                        " "
                        <button type="button" class="button button-secondary" aria-label=format!("Settings of {name}") on:click=move |_| on_open.run((settings.clone(), Section::FhirBases, false))>"Settings"</button>
                        " "
                        <button type="button" class="button button-secondary" aria-label=format!("Reports for {name}") on:click=move |_| on_open.run((open.clone(), Section::Reports, false))>"Reports"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-label="Tenants table">
            <table class="data">
                <caption>"Tenants"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Id"</th>
                        <th scope="col" class="num">
                            <span class="badge env-test">"Test"</span> " FHIR bases"
                        </th>
                        <th scope="col" class="num">
                            <span class="badge env-production">"Production"</span> " FHIR bases"
                        </th>
                        <th scope="col" class="num">"Version"</th>
                        <th scope="col">"Open"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_suggested_from_names() {
        assert_eq!(suggest_id("St. Mary's Clinic"), "st-mary-s-clinic");
        assert_eq!(suggest_id("  Ärzte   Nord  "), "rzte-nord");
        assert!(is_valid_id(&suggest_id(&"Long name ".repeat(10))));
        assert_eq!(suggest_id("!!"), "");
    }

    #[test]
    fn counts_bases_per_environment() {
        let base = |id: &str, env: &str| {
            json!({
                "id": id, "url": format!("https://ehr.example/{id}"), "environment": env,
                "department": "", "client": {"client_id": "c", "auth_method": "private_key_jwt"},
                "validation": {
                    "ok": true, "fhir_base": format!("https://ehr.example/{id}"), "checked_at": "x",
                    "discovery": "smart_configuration", "authorization_endpoint": null,
                    "token_endpoint": null, "issuer": null, "jwks_uri": null, "capabilities": [],
                    "fhir_version": null, "supports_launch_ehr": true, "supports_pkce_s256": true,
                    "client_auth_method": "private_key_jwt", "supports_client_auth": true,
                    "requests": [], "findings": []
                },
            })
        };
        let tenant: Tenant = serde_json::from_value(json!({
            "schema_version": 1, "id": "t1", "display_name": "T",
            "fhir_bases": [base("a", "test"), base("b", "production"), base("c", "test")],
            "version": 3, "created_at": "x", "updated_at": "y", "updated_by": "z",
        }))
        .expect("tenant document");
        assert_eq!(count_bases(&tenant, Environment::Test), 2);
        assert_eq!(count_bases(&tenant, Environment::Production), 1);
    }
}
