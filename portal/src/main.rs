//! The Visitgate admin portal: a client-side rendered Leptos app, served by
//! the gateway as static files under `/admin/` and talking to the admin API
//! (`/api/v1/…`) on the same origin.
//!
//! Layout (as in Leptos' `examples/router`): `api` holds every HTTP call,
//! `app` the top-level component, `views` the small components it is made of.

mod api;
mod app;
mod route;
mod views;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App)
}
