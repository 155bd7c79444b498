//! Small labels.

use leptos::prelude::*;
use shared::tenant::Environment;

pub fn env_badge(env: Environment) -> impl IntoView {
    let (class, label) = match env {
        Environment::Test => ("badge env-test", "Test"),
        Environment::Production => ("badge env-production", "Production"),
    };
    view! { <span class=class>{label}</span> }
}
