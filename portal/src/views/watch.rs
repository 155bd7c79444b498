//! One FHIR base's watch list for notifications: the location and
//! practitioner ids the analysts give, checked against the EHR (names
//! shown, never stored), how often and how far ahead the job looks, and the
//! job's last look (so a broken feed shows before patients notice).

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::tenant::{FhirBase, Tenant};
use shared::watch::{Checked, Health, Watch};

use crate::api::{self, Csrf, Failure, Saved};
use crate::widgets::save::failure_view;

/// `"1, 2\n3"` → `["1", "2", "3"]`.
pub fn ids(text: &str) -> Vec<String> {
    text.split([',', '\n', ' ', ';']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn health_view(h: Health) -> impl IntoView {
    let last = match &h.last_run_at {
        Some(at) => {
            format!("Last look {at}: {} appointments, {} messages sent, {} FHIR requests.", h.appointments, h.sent, h.fhir_requests)
        }
        None => "Not looked yet.".into(),
    };
    let next = h.next_run_at.map(|n| format!(" Next look {n}.")).unwrap_or_default();
    view! {
        <p class="watch-health" role="status">{last}{next}</p>
        {h.last_error.map(|e| view! { <p class="field-error">{format!("Last problem ({}): {} ", e.at, e.message)}<code>{e.code}</code></p> })}
    }
}

#[component]
pub fn WatchList(base: FhirBase, tenant: Tenant, on_saved: Callback<Tenant>, on_conflict: Callback<Tenant>) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let w = base.watch.clone();
    let locations = RwSignal::new(w.locations.join(", "));
    let practitioners = RwSignal::new(w.practitioners.join(", "));
    let every = RwSignal::new(w.every_minutes.to_string());
    let horizon = RwSignal::new(w.horizon_days.to_string());
    let checked = RwSignal::new(None::<Checked>);
    let health = RwSignal::new(None::<Health>);
    let error = RwSignal::new(None::<Failure>);
    let busy = RwSignal::new(None::<&'static str>);
    let (tid, bid, version) = (tenant.id.clone(), base.id.clone(), tenant.version);
    {
        let (tid, bid) = (tid.clone(), bid.clone());
        spawn_local(async move {
            if let Ok(v) = api::watch(tid, bid).await {
                health.set(Some(v.health));
            }
        });
    }
    let typed = move || Watch {
        locations: ids(&locations.get_untracked()),
        practitioners: ids(&practitioners.get_untracked()),
        every_minutes: every.get_untracked().trim().parse().unwrap_or(0),
        horizon_days: horizon.get_untracked().trim().parse().unwrap_or(0),
    };
    let check = {
        let (csrf, tid, bid) = (csrf.clone(), tid.clone(), bid.clone());
        move |_| {
            busy.set(Some("Checking with the EHR…"));
            error.set(None);
            let (csrf, tid, bid, watch) = (csrf.clone(), tid.clone(), bid.clone(), typed());
            spawn_local(async move {
                match api::check_watch(tid, bid, watch, csrf).await {
                    Ok(c) => checked.set(Some(c)),
                    Err(f) => error.set(Some(f)),
                }
                busy.set(None);
            });
        }
    };
    let save = move |_| {
        busy.set(Some("Saving…"));
        error.set(None);
        let url = api::tenant_url(&tid, &format!("/fhir-bases/{bid}/watch"));
        let (csrf, body) = (csrf.clone(), serde_json::to_value(typed()).ok());
        spawn_local(async move {
            match api::save("PUT", url, csrf, version, body).await {
                Saved::Ok(t) => on_saved.run(*t),
                Saved::Conflict(t) => on_conflict.run(*t),
                Saved::Invalid(_, f) | Saved::Failed(f, _) => error.set(Some(f)),
            }
            busy.set(None);
        });
    };
    let id = base.id.clone();
    view! {
        <details class="watch">
            <summary>"Notifications: watched locations"</summary>
            <p class="help">"Oracle Health tells no one about new bookings: Visitgate looks at the locations (or clinicians) you list. Ask your analysts for their Millennium ids."</p>
            <label for=format!("{id}-loc")>"Location ids"</label>
            <input id=format!("{id}-loc") type="text" prop:value=move || locations.get() on:input=move |ev| locations.set(event_target_value(&ev))/>
            <label for=format!("{id}-pr")>"Practitioner ids"</label>
            <input id=format!("{id}-pr") type="text" prop:value=move || practitioners.get() on:input=move |ev| practitioners.set(event_target_value(&ev))/>
            <label for=format!("{id}-every")>"Look every (minutes)"</label>
            <input id=format!("{id}-every") type="number" min="1" max="60" prop:value=move || every.get() on:input=move |ev| every.set(event_target_value(&ev))/>
            <label for=format!("{id}-days")>"Days ahead"</label>
            <input id=format!("{id}-days") type="number" min="1" max="60" prop:value=move || horizon.get() on:input=move |ev| horizon.set(event_target_value(&ev))/>
            <p class="actions">
                <button type="button" class="button button-secondary" on:click=check disabled=move || busy.get().is_some()>"Check ids"</button>
                " "
                <button type="button" class="button" on:click=save disabled=move || busy.get().is_some()>"Save watch list"</button>
                {move || busy.get().map(|b| view! { <span role="status" class="progress">" " {b}</span> })}
            </p>
            {move || checked.get().map(|c| view! {
                <ul class="watch-found" aria-label="Checked ids">
                    {c.found.into_iter().map(|n| view! { <li>{format!("{} {}: {}", n.kind, n.id, n.name)}</li> }).collect_view()}
                    {c.problems.into_iter().map(|p| view! { <li class="field-error">{p.message}</li> }).collect_view()}
                </ul>
            })}
            {move || error.get().map(failure_view)}
            {move || health.get().map(health_view)}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_split_on_commas_spaces_and_lines() {
        assert_eq!(ids("32216049, 4048128\n 77;"), ["32216049", "4048128", "77"]);
        assert!(ids("  ").is_empty());
    }
}
