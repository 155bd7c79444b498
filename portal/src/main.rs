//! The Visitgate admin portal: a client-side rendered Leptos app, served by
//! the gateway as static files under `/admin/` and talking to the admin API
//! (`/api/v1/…`) on the same origin.
//!
//! Layout (as in Leptos' `examples/router`): `api` holds every HTTP call,
//! `app` the top-level component, `route` where the portal is (the URL
//! fragment), `views` the pages and `widgets` what the pages share.
//! Pages import widgets, never each other's internals.

mod api;
mod app;
mod route;
mod views;
mod widgets;

fn main() {
    // Panic messages in the console for development builds only: the
    // formatting machinery costs the first load several KiB.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App)
}
