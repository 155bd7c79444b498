//! API tokens of one tenant: listed with their expiry, revoked at once.
//! Platform admins make them with `POST /api/v1/tokens` (the value is
//! shown once).

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{self, Csrf, Failure};
use crate::widgets::save::failure_view;

/// `YYYY-MM-DD` (UTC) of Unix milliseconds (civil-from-days, H. Hinnant).
fn date(ms: f64) -> String {
    let z = (ms / 86_400_000.0).floor() as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[component]
pub fn Tokens(tenant_id: String) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let version = RwSignal::new(0u32);
    let list = {
        let tid = tenant_id.clone();
        LocalResource::new(move || {
            version.track();
            api::tokens(tid.clone())
        })
    };
    let error = RwSignal::new(None::<Failure>);
    let revoke = {
        let csrf = csrf.clone();
        move |id: String| {
            let csrf = csrf.clone();
            error.set(None);
            spawn_local(async move {
                match api::revoke_token(id, csrf).await {
                    Ok(()) => version.update(|v| *v += 1),
                    Err(f) => error.set(Some(f)),
                }
            });
        }
    };
    view! {
        <section aria-labelledby="tokens-title">
            <h3 id="tokens-title">"API tokens"</h3>
            <p class="hint">"Tokens let scripts use the admin API for this organisation. Each ends on its expiry date; revoking one ends it at once. A platform admin makes them (POST /api/v1/tokens)."</p>
            {move || match list.get() {
                None => view! { <p role="status">"Loading…"</p> }.into_any(),
                Some(Err(f)) => failure_view(f).into_any(),
                Some(Ok(tokens)) => {
                    let revoke = revoke.clone();
                    let empty = tokens.is_empty().then_some(view! { <li>"No API tokens."</li> });
                    view! {
                        <ul class="tokens">
                            {empty}
                            {tokens.into_iter().map(|t| {
                                let revoke = revoke.clone();
                                let id = t.id;
                                let line = format!("{} — made by {}, works until {}", t.label, t.created_by, date(t.expires_at_ms));
                                view! {
                                    <li>{line} " " <button type="button" class="button button-secondary" aria-label=format!("Revoke {}", t.label) on:click=move |_| revoke(id.clone())>"Revoke"</button></li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
            {move || error.get().map(failure_view)}
        </section>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_from_unix_milliseconds() {
        assert_eq!(super::date(0.0), "1970-01-01");
        assert_eq!(super::date(1_764_752_400_000.0), "2025-12-03");
        assert_eq!(super::date(951_782_400_000.0), "2000-02-29");
    }
}
