//! The page: a header with the signed-in user, and the main content chosen
//! by what `GET /api/v1/me` answered.

use leptos::prelude::*;
use shared::api::Me;

use crate::api::{self, Failure};
use crate::views::session::SessionBar;
use crate::views::tenant::TenantPage;
use crate::views::tenants::Tenants;
use crate::widgets::status::{ErrorPanel, Loading, SignedOutPanel};

/// What the page is showing, derived from `/me` and the sign-out button.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Loading,
    SignedIn(Me),
    SignedOut,
    Failed(Failure),
}

#[component]
pub fn App() -> impl IntoView {
    let me = LocalResource::new(api::me);
    let signed_out = RwSignal::new(false);
    let phase = Memo::new(move |_| {
        if signed_out.get() {
            return Phase::SignedOut;
        }
        match me.get() {
            None => Phase::Loading,
            Some(Ok(Some(me))) => Phase::SignedIn(me),
            Some(Ok(None)) => Phase::SignedOut,
            Some(Err(f)) => Phase::Failed(f),
        }
    });
    let retry = Callback::new(move |()| {
        me.set(None);
        me.refetch();
    });
    let on_signed_out = Callback::new(move |()| signed_out.set(true));
    // The tenant open, and at which section, if any.
    let open = RwSignal::new(None::<crate::views::tenants::Open>);
    let on_open = Callback::new(move |o| open.set(Some(o)));
    let on_back = Callback::new(move |()| {
        open.set(None);
        crate::route::show(None);
    });
    // Once signed in, go back to where the address says (a reload, a shared link).
    let restored = RwSignal::new(false);
    Effect::new(move |_| {
        if !matches!(phase.get(), Phase::SignedIn(_)) || restored.get_untracked() {
            return;
        }
        restored.set(true);
        if let Some(place) = crate::route::parse(&crate::route::current()) {
            leptos::task::spawn_local(async move {
                match api::tenant(place.tenant_id.clone()).await {
                    Ok(t) => open.set(Some((t, place.section, place.wizard))),
                    Err(_) => crate::route::show(None),
                }
            });
        }
    });

    view! {
        <header class="site-header">
            <h1>"Visitgate admin"</h1>
            {move || match phase.get() {
                Phase::SignedIn(me) => Some(view! { <SessionBar me on_signed_out/> }),
                _ => None,
            }}
        </header>
        <main id="main" class="content">
            {move || match phase.get() {
                Phase::Loading => view! { <Loading/> }.into_any(),
                Phase::SignedIn(me) => {
                    provide_context(api::Csrf(me.csrf_token.clone()));
                    provide_context(api::Platform(matches!(me.role, shared::tenant::Role::PlatformAdmin)));
                    match open.get() {
                    Some((tenant, section, wizard)) => view! { <TenantPage tenant section wizard on_back/> }.into_any(),
                    None => {
                        let platform = matches!(me.role, shared::tenant::Role::PlatformAdmin);
                        view! { <Tenants on_open platform/> }.into_any()
                    }
                    }
                }
                Phase::SignedOut => view! { <SignedOutPanel/> }.into_any(),
                Phase::Failed(failure) => view! {
                    <ErrorPanel title="The portal could not check your sign-in" failure on_retry=retry/>
                }
                .into_any(),
            }}
        </main>
    }
}
