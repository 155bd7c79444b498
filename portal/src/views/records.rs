//! "Review and finish": the integration records for provider launch and
//! patient launch per FHIR base, each value with a copy button, and a
//! download of all records. Reachable at any time, as in the seed.

use leptos::prelude::*;
use shared::integration::BaseRecords;
use shared::tenant::Tenant;

use crate::api;
use crate::widgets::badge::env_badge;
use crate::widgets::status::ErrorPanel;

/// `navigator.clipboard.writeText(text)`, reached through the global object
/// (no extra web-sys features for one call).
fn copy_to_clipboard(text: &str) -> bool {
    let call = || -> Option<()> {
        let nav = js_sys::Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
        let clip = js_sys::Reflect::get(&nav, &"clipboard".into()).ok()?;
        let write: js_sys::Function = js_sys::Reflect::get(&clip, &"writeText".into()).ok()?.into();
        write.call1(&clip, &text.into()).ok()?;
        Some(())
    };
    call().is_some()
}

#[component]
fn Value(label: &'static str, value: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let v = value.clone();
    view! {
        <dt>{label}</dt>
        <dd>
            <code class="record-value">{value}</code> " "
            <button type="button" class="button button-secondary copy" aria-label=format!("Copy {label}")
                on:click=move |_| copied.set(copy_to_clipboard(&v))>"Copy"</button>
            <span role="status" class="ok">{move || copied.get().then_some(" Copied")}</span>
        </dd>
    }
}

#[component]
fn BaseRecordsView(r: BaseRecords) -> impl IntoView {
    let p = r.provider_launch;
    let q = r.patient_launch;
    let title = if r.department.is_empty() { r.fhir_base.clone() } else { r.department.clone() };
    view! {
        <article class="records">
            <h4>{env_badge(r.environment)} " " {title}</h4>
            <h5>"Provider launch (register in the EHR's code console)"</h5>
            <dl>
                <Value label="App name" value=p.app_name/>
                <Value label="Launch URL" value=p.launch_url/>
                <Value label="Redirect URI" value=p.redirect_uri/>
                <Value label="Client id" value=p.client_id/>
                <Value label="Client authentication" value=p.token_endpoint_auth_method.as_str().to_string()/>
                {p.jwks_url.map(|u| view! { <Value label="JWK Set URL" value=u/> })}
                <Value label="Scopes" value=p.scopes/>
                <Value label="PKCE" value=p.pkce/>
            </dl>
            <h5>"Patient launch"</h5>
            <dl>
                <Value label="Patient link base" value=q.patient_link_base_url/>
                <Value label="Patient sign-in" value=q.patient_sign_in/>
                <Value label="Backend Services client id" value=q.backend_service_client_id/>
                <Value label="Backend Services JWK Set URL" value=q.backend_service_jwks_url/>
                <Value label="Backend Services scopes" value=q.backend_service_scopes/>
            </dl>
        </article>
    }
}

#[component]
pub fn Records(tenant: Tenant) -> impl IntoView {
    let id = tenant.id.clone();
    let records = LocalResource::new(move || api::integration_records(id.clone()));
    let download = api::tenant_url(&tenant.id, "/integration-records?download=1");
    view! {
        <section aria-labelledby="records-title">
            <h3 id="records-title">"Review and finish: integration records"</h3>
            <p>"Give these to your EHR administrator. This page stays here for later."</p>
            <p><a class="button" href=download download="">"Download all records (JSON)"</a></p>
            {move || match records.get() {
                None => view! { <p role="status">"Loading…"</p> }.into_any(),
                Some(Ok(r)) if r.records.is_empty() => view! { <p class="empty">"Add a FHIR base first; its records appear here."</p> }.into_any(),
                Some(Ok(r)) => r.records.into_iter().map(|r| view! { <BaseRecordsView r/> }).collect_view().into_any(),
                Some(Err(failure)) => view! { <ErrorPanel title="Could not load the integration records" failure/> }.into_any(),
            }}
        </section>
    }
}
