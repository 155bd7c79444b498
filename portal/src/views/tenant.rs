//! One tenant's page: its sections (FHIR bases, integration records, audit
//! log, reports) over the tenant as last loaded or saved.

use leptos::prelude::*;
use shared::tenant::Tenant;

use crate::api::{self, Failure};
use crate::views::audit::AuditLog;
use crate::views::fhir_bases::FhirBases;
use crate::views::records::Records;
use crate::views::reports::Reports;
use crate::views::sms::Sms;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    FhirBases,
    Sms,
    Records,
    Audit,
    Reports,
}

const SECTIONS: [(Section, &str); 5] = [
    (Section::FhirBases, "FHIR bases"),
    (Section::Sms, "SMS"),
    (Section::Records, "Review and finish"),
    (Section::Audit, "Audit log"),
    (Section::Reports, "Reports"),
];

/// Shown when a save met someone else's newer version (409): nothing was
/// overwritten; the admin reloads theirs and redoes the change.
#[component]
pub fn Conflict(theirs: Tenant, on_reload: Callback<Tenant>) -> impl IntoView {
    let by = theirs.updated_by.clone();
    let at = theirs.updated_at.clone();
    view! {
        <div class="panel panel-error" role="alert">
            <h3>"Someone else changed this"</h3>
            <p>{format!("{by} saved a newer version at {at}. Your change was not saved, so nothing was overwritten.")}</p>
            <button type="button" class="button" on:click=move |_| on_reload.run(theirs.clone())>"Reload their version"</button>
        </div>
    }
}

/// A failure next to the form it belongs to.
pub fn failure_view(f: Failure) -> impl IntoView {
    view! { <p class="form-error" role="alert">{f.message} " (code " <code>{f.code}</code> ")"</p> }
}

#[component]
pub fn TenantPage(tenant: Tenant, section: Section, on_back: Callback<()>) -> impl IntoView {
    let current = RwSignal::new(tenant);
    let open = RwSignal::new(section);
    let refresh = move |_| {
        let id = current.get_untracked().id;
        leptos::task::spawn_local(async move {
            if let Ok(t) = api::tenant(id).await {
                current.set(t);
            }
        });
    };
    let nav = SECTIONS
        .iter()
        .map(|&(s, label)| {
            let aria = move || (open.get() == s).then_some("page");
            view! { <li><button type="button" class="tab" aria-current=aria on:click=move |_| open.set(s)>{label}</button></li> }
        })
        .collect_view();
    view! {
        <section class="tenant-page" aria-labelledby="tenant-title">
            <p><button type="button" class="button button-secondary" on:click=move |_| on_back.run(())>"← All tenants"</button></p>
            <h2 id="tenant-title">{move || current.get().display_name} " " <small>{move || format!("version {}", current.get().version)}</small></h2>
            <nav aria-label="Tenant sections"><ul class="tabs">{nav}</ul></nav>
            {move || {
                // The bases section follows the tenant itself (its form keeps its input).
                let t = if matches!(open.get(), Section::FhirBases | Section::Sms) { current.get_untracked() } else { current.get() };
                match open.get() {
                    Section::FhirBases => view! { <FhirBases tenant=current/> }.into_any(),
                    Section::Sms => view! { <Sms tenant=current/> }.into_any(),
                    Section::Records => view! { <Records tenant=t/> }.into_any(),
                    Section::Audit => view! { <AuditLog tenant_id=t.id.clone()/> }.into_any(),
                    Section::Reports => view! { <Reports tenant=t on_back/> }.into_any(),
                }
            }}
            <p><button type="button" class="button button-secondary" on:click=refresh>"Reload from the server"</button></p>
        </section>
    }
}
