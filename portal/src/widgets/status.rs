//! Whole-panel states: loading, not signed in, and failure.

use leptos::prelude::*;

use crate::api::Failure;

/// Shown while a request is under way.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="panel loading" aria-busy="true">
            <p role="status">"Loading…"</p>
        </div>
    }
}

/// Shown when `/api/v1/me` answers 401, and after signing out.
#[component]
pub fn SignedOutPanel() -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="signed-out-title">
            <h2 id="signed-out-title">"Not signed in"</h2>
            <p><a class="button" href="/admin/signin">"Sign in with your organisation account"</a></p>
            <p>
                "Or open a one-time sign-in link (" <code>"make dev"</code>
                " prints one; your platform admin can make one)."
            </p>
        </section>
    }
}

/// A failed call: what happened, the code to quote to support, and (when
/// `on_retry` is given) a Retry button.
#[component]
pub fn ErrorPanel(#[prop(into)] title: String, failure: Failure, #[prop(optional)] on_retry: Option<Callback<()>>) -> impl IntoView {
    let Failure { code, message } = failure;
    view! {
        <section class="panel panel-error" role="alert">
            <h2>{title}</h2>
            <p>{message}</p>
            <p class="error-code">"Code for support: " <code>{code}</code></p>
            {on_retry.map(|retry| view! {
                <button type="button" class="button" on:click=move |_| retry.run(())>"Retry"</button>
            })}
        </section>
    }
}
