//! The signed-in user's bar in the page header: who, which role, sign out.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::Me;
use shared::tenant::Role;

use crate::api::{self, Failure};

pub fn role_label(role: &Role) -> String {
    match role {
        Role::PlatformAdmin => "Platform admin".into(),
        Role::TenantAdmin { tenant_id } => format!("Tenant admin ({tenant_id})"),
    }
}

#[component]
pub fn SessionBar(me: Me, on_signed_out: Callback<()>) -> impl IntoView {
    let pending = RwSignal::new(false);
    let error = RwSignal::new(None::<Failure>);
    let csrf_token = me.csrf_token.clone();
    let sign_out = move |_| {
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        error.set(None);
        let csrf_token = csrf_token.clone();
        spawn_local(async move {
            match api::logout(csrf_token).await {
                Ok(()) => on_signed_out.run(()),
                Err(f) => {
                    error.set(Some(f));
                    pending.set(false);
                }
            }
        });
    };
    view! {
        <div class="session">
            <span class="who">"Signed in as " <strong>{me.subject}</strong></span>
            <span class="role-badge">{role_label(&me.role)}</span>
            <button type="button" class="button button-secondary" on:click=sign_out disabled=move || pending.get()>
                {move || if pending.get() { "Signing out…" } else { "Sign out" }}
            </button>
            {move || error.get().map(|f| view! {
                <p class="session-error" role="alert">
                    "Sign-out failed: " {f.message} " (code " <code>{f.code}</code> ")"
                </p>
            })}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_labels() {
        assert_eq!(role_label(&Role::PlatformAdmin), "Platform admin");
        assert_eq!(role_label(&Role::TenantAdmin { tenant_id: "t1".into() }), "Tenant admin (t1)");
    }
}
