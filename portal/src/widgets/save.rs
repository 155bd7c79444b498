//! Saving a settings section: in progress, saved, why not, or someone
//! else's newer version (409), and how each is shown.

use leptos::prelude::*;
use shared::tenant::Tenant;

use crate::api::{self, Failure};

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

/// One settings section's save: in progress, saved, why not (with the
/// field), or someone else's newer version (409).
#[derive(Clone, Copy)]
pub struct SaveState {
    pub busy: RwSignal<bool>,
    pub saved: RwSignal<bool>,
    pub error: RwSignal<Option<(Failure, Option<String>)>>,
    pub conflict: RwSignal<Option<Tenant>>,
}

impl SaveState {
    pub fn new() -> Self {
        SaveState { busy: RwSignal::new(false), saved: RwSignal::new(false), error: RwSignal::new(None), conflict: RwSignal::new(None) }
    }

    /// PUTs `body` to the tenant's `path` (If-Match its version) and follows the answer.
    pub fn put(self, tenant: RwSignal<Tenant>, csrf: api::Csrf, path: &'static str, body: Option<serde_json::Value>) {
        let SaveState { busy, saved, error, conflict } = self;
        busy.set(true);
        error.set(None);
        saved.set(false);
        let t = tenant.get_untracked();
        let url = api::tenant_url(&t.id, path);
        leptos::task::spawn_local(async move {
            match api::save("PUT", url, csrf, t.version, body).await {
                api::Saved::Ok(t) => {
                    saved.set(true);
                    tenant.set(*t);
                }
                api::Saved::Conflict(t) => conflict.set(Some(*t)),
                api::Saved::Invalid(_, f) => error.set(Some((f, None))),
                api::Saved::Failed(f, field) => error.set(Some((f, field))),
            }
            busy.set(false);
        });
    }
}

/// A failure next to the form it belongs to.
pub fn failure_view(f: Failure) -> impl IntoView {
    view! { <p class="form-error" role="alert">{f.message} " (code " <code>{f.code}</code> ")"</p> }
}
