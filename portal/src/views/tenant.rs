//! One tenant's page: its sections (FHIR bases, SMS, video, integration
//! records, audit log, reports) over the tenant as last loaded or saved;
//! either as plain pages (tabs) or as the first-set-up wizard (the seed's
//! steps, with Back / Next).

use leptos::prelude::*;
use shared::tenant::Tenant;

use crate::api;
use crate::route::{Section, SECTIONS};
use crate::views::audit::AuditLog;
use crate::views::fhir_bases::FhirBases;
use crate::views::records::Records;
use crate::views::reports::Reports;
use crate::views::sms::Sms;
use crate::views::tokens::Tokens;
use crate::views::video::Video;

/// The wizard's steps, in the seed's order (SMS is optional).
const STEPS: [(Section, &str, &str); 4] = [
    (Section::FhirBases, "FHIR bases", "Add your FHIR base URLs"),
    (Section::Sms, "SMS", "SMS notifications (optional)"),
    (Section::Video, "Video", "Choose the video provider"),
    (Section::Records, "Review and finish", "Review and finish"),
];

fn step_index(s: Section) -> usize {
    STEPS.iter().position(|(x, _, _)| *x == s).unwrap_or(0)
}

#[component]
pub fn TenantPage(tenant: Tenant, section: Section, wizard: bool, on_back: Callback<()>) -> impl IntoView {
    let current = RwSignal::new(tenant);
    let open = RwSignal::new(section);
    let wizard = RwSignal::new(wizard);
    let tenant_id = current.get_untracked().id;
    Effect::new(move |_| {
        crate::route::show(Some(&crate::route::Place { tenant_id: tenant_id.clone(), section: open.get(), wizard: wizard.get() }))
    });
    let refresh = move |_| {
        let id = current.get_untracked().id;
        leptos::task::spawn_local(async move {
            if let Ok(t) = api::tenant(id).await {
                current.set(t);
            }
        });
    };
    let tab = move |s: Section, label: &'static str| {
        let aria = move || (open.get() == s).then_some(if wizard.get() { "step" } else { "page" });
        view! { <li><button type="button" class="tab" aria-current=aria on:click=move |_| open.set(s)>{label}</button></li> }
    };
    let nav = move || {
        if wizard.get() {
            let steps = STEPS.iter().map(|&(s, label, _)| tab(s, label)).collect_view();
            view! { <nav aria-label="Set-up steps"><ol class="tabs steps">{steps}</ol></nav> }.into_any()
        } else {
            let tabs = SECTIONS.iter().map(|&(s, label, _)| tab(s, label)).collect_view();
            view! { <nav aria-label="Tenant sections"><ul class="tabs">{tabs}</ul></nav> }.into_any()
        }
    };
    let has_bases = move || current.with(|t| !t.fhir_bases.is_empty());
    let step_bar = move || {
        wizard.get().then(|| {
            let i = step_index(open.get());
            let (_, _, title) = STEPS[i];
            let blocked = i == 0 && !has_bases();
            view! {
                <div class="wizard-bar">
                    <p class="step-title"><strong>{format!("Step {} of {}: ", i + 1, STEPS.len())}</strong>{title}</p>
                    <p class="actions">
                        {(i > 0).then(|| view! { <button type="button" class="button button-secondary" on:click=move |_| open.set(STEPS[i - 1].0)>"Back"</button> })}
                        {if i + 1 < STEPS.len() {
                            let label = if i == 1 { "Next (or skip)" } else { "Next" };
                            view! { <button type="button" class="button" disabled=blocked on:click=move |_| open.set(STEPS[i + 1].0)>{label}</button> }.into_any()
                        } else {
                            view! { <button type="button" class="button" on:click=move |_| wizard.set(false)>"Finish set-up"</button> }.into_any()
                        }}
                    </p>
                    {blocked.then(|| view! { <p class="hint">"Add and validate at least one FHIR base URL to go on."</p> })}
                </div>
            }
        })
    };
    view! {
        <section class="tenant-page" aria-labelledby="tenant-title">
            <p><button type="button" class="button button-secondary" on:click=move |_| on_back.run(())>"← All tenants"</button></p>
            <h2 id="tenant-title">
                {move || if wizard.get() { "Set up " } else { "" }}
                {move || current.get().display_name} " " <small>{move || format!("version {}", current.get().version)}</small>
            </h2>
            {nav}
            {move || {
                // Forms follow the tenant itself (they keep their input across saves).
                let t = if matches!(open.get(), Section::FhirBases | Section::Sms | Section::Video) { current.get_untracked() } else { current.get() };
                match open.get() {
                    Section::FhirBases => view! { <FhirBases tenant=current/> }.into_any(),
                    Section::Sms => view! { <Sms tenant=current/> }.into_any(),
                    Section::Video => view! { <Video tenant=current/> }.into_any(),
                    Section::Records => view! { <Records tenant=t/> }.into_any(),
                    Section::Audit => view! { <AuditLog tenant_id=t.id.clone()/> }.into_any(),
                    Section::Reports => view! { <Reports tenant=t on_back/> }.into_any(),
                    Section::Tokens => view! { <Tokens tenant_id=t.id.clone()/> }.into_any(),
                }
            }}
            {step_bar}
            {move || (!wizard.get()).then(|| view! {
                <p><button type="button" class="button button-secondary" on:click=refresh>"Reload from the server"</button></p>
            })}
        </section>
    }
}
