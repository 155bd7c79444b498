//! The tenants table.

use leptos::prelude::*;
use shared::tenant::{Environment, Tenant};

use crate::api;
use crate::views::tenant::Section;
use crate::views::status::ErrorPanel;

/// How many of the tenant's FHIR bases are in `env`.
pub fn count_bases(tenant: &Tenant, env: Environment) -> usize {
    tenant.fhir_bases.iter().filter(|b| b.environment == env).count()
}

#[component]
pub fn Tenants(on_open: Callback<(Tenant, Section)>) -> impl IntoView {
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
        </section>
    }
}

#[component]
fn TenantTable(tenants: Vec<Tenant>, on_open: Callback<(Tenant, Section)>) -> impl IntoView {
    let rows = tenants
        .into_iter()
        .map(|t| {
            let test = count_bases(&t, Environment::Test);
            let production = count_bases(&t, Environment::Production);
            let name = t.display_name.clone();
            let (open, settings) = (t.clone(), t.clone());
            let set_up = format!("Set up {name}");
            view! {
                <tr>
                    <th scope="row">{t.display_name}</th>
                    <td><code>{t.id}</code></td>
                    <td class="num">{test}</td>
                    <td class="num">{production}</td>
                    <td class="num">{t.version}</td>
                    <td>
                        <button type="button" class="button button-secondary" aria-label=set_up on:click=move |_| on_open.run((settings.clone(), Section::FhirBases))>"Set up"</button>
                        " "
                        <button type="button" class="button button-secondary" aria-label=format!("Reports for {name}") on:click=move |_| on_open.run((open.clone(), Section::Reports))>"Reports"</button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
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
