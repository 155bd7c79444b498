//! The audit log: who changed what, when, down to the field.

use leptos::prelude::*;

use crate::api;
use crate::widgets::status::ErrorPanel;

fn short(v: &Option<serde_json::Value>) -> String {
    match v {
        None => "–".into(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => {
            let s = other.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

#[component]
pub fn AuditLog(tenant_id: String) -> impl IntoView {
    let entries = LocalResource::new(move || api::audit(tenant_id.clone()));
    view! {
        <section aria-labelledby="audit-title">
            <h3 id="audit-title">"Audit log"</h3>
            {move || match entries.get() {
                None => view! { <p role="status">"Loading…"</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="table-scroll" tabindex="0" role="region" aria-label="Audit log table">
                        <table class="data">
                            <caption>"Changes, newest first"</caption>
                            <thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Changes"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{e.at}</td>
                                        <td>{e.actor}</td>
                                        <td><code>{e.action}</code> {format!(" → v{}", e.version)}</td>
                                        <td><ul class="changes">{e.changes.into_iter().map(|c| view! {
                                            <li><code>{c.path}</code> ": " {short(&c.before)} " → " {short(&c.after)}</li>
                                        }).collect_view()}</ul></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any(),
                Some(Err(failure)) => view! { <ErrorPanel title="Could not load the audit log" failure/> }.into_any(),
            }}
        </section>
    }
}
