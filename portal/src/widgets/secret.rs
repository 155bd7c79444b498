//! A secret's value, write-only: typed once, stored sealed on the server,
//! never shown again. Shows whether a value is stored for the name the
//! settings give.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, Csrf, Failure};
use crate::widgets::save::failure_view;

#[component]
pub fn SecretValue(tenant_id: String, #[prop(into)] name: Signal<String>, id: &'static str, label: &'static str) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let stored = RwSignal::new(Vec::<api::StoredSecret>::new());
    let value = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Failure>);
    let reload = {
        let tid = tenant_id.clone();
        move || {
            let tid = tid.clone();
            spawn_local(async move {
                if let Ok(s) = api::secrets(tid).await {
                    stored.set(s);
                }
            });
        }
    };
    reload();
    let status = move || {
        let n = name.get();
        match stored.get().into_iter().find(|s| s.name == n) {
            Some(s) if s.updated_at.is_empty() => format!("A value for {n} is set by your Visitgate operator."),
            Some(s) => format!("A value for {n} is stored (set {} by {}). Type a new one to replace it.", s.updated_at, s.updated_by),
            None => format!("No value for {n} is stored yet."),
        }
    };
    let store = move |_| {
        let v = value.get_untracked();
        if v.trim().is_empty() {
            return;
        }
        busy.set(true);
        error.set(None);
        let (csrf, tid, reload) = (csrf.clone(), tenant_id.clone(), reload.clone());
        spawn_local(async move {
            match api::store_secret(tid, name.get_untracked().trim().to_string(), v, csrf).await {
                Ok(()) => {
                    value.set(String::new());
                    reload();
                }
                Err(f) => error.set(Some(f)),
            }
            busy.set(false);
        });
    };
    let help = format!("{id}-status");
    view! {
        <div class="secret-value">
            <label for=id>{label}</label>
            <input id=id type="password" autocomplete="new-password" aria-describedby=help.clone() prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
            <button type="button" class="button button-secondary" on:click=store disabled=move || busy.get() || value.get().trim().is_empty()>"Store secret"</button>
            <p id=help class="hint" aria-live="polite">{status}</p>
            {move || error.get().map(failure_view)}
        </div>
    }
}
