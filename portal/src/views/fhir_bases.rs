//! FHIR bases: the list (test and production told apart everywhere), adding
//! one with validation as you go (progress, findings, a plain reason when it
//! fails; "Done" only once it passed), re-validating, and removing with a
//! confirmation. Saves name the version they started from; a newer one
//! gets the conflict panel, never a silent overwrite. A base waiting for
//! approval says so; a platform admin approves it here.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::tenant::{ClientAuthMethod, Environment, FhirBase, Tenant};
use shared::validation::{Severity, ValidationReport};
use shared::video_rule::VideoRule;

use super::watch::WatchList;
use crate::api::{self, Csrf, Failure, Platform, Saved};
use crate::widgets::badge::env_badge;
use crate::widgets::save::{failure_view, Conflict};
use crate::widgets::secret::SecretValue;

/// A field's problem as the admin types: `None` when fine. A light check
/// (the `url` crate's tables would double the portal's size); the server
/// applies the full rules on Validate and says what is wrong.
pub fn url_problem(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return Some("Enter the FHIR base URL from your EHR's code console.".into());
    }
    let Some(rest) = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")) else {
        return Some("The address must start with https://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || !host.contains(['.', ':']) && host != "localhost" {
        return Some("The address needs a server name, e.g. https://fhir-ehr.cerner.com/r4/…".into());
    }
    if url.chars().any(char::is_whitespace) {
        return Some("The address must not contain spaces.".into());
    }
    if url.contains(['?', '#']) {
        return Some("Give the FHIR base itself, without ? or # parts.".into());
    }
    None
}

#[component]
fn Report(report: ValidationReport) -> impl IntoView {
    let status = if report.ok { "Validation passed" } else { "Validation failed" };
    let facts = [
        ("Discovery", format!("{:?}", report.discovery)),
        ("Authorization endpoint", report.authorization_endpoint.clone().unwrap_or_else(|| "–".into())),
        ("Token endpoint", report.token_endpoint.clone().unwrap_or_else(|| "–".into())),
        ("EHR launch", if report.supports_launch_ehr { "supported" } else { "not advertised" }.into()),
        ("PKCE S256", if report.supports_pkce_s256 { "supported" } else { "not advertised" }.into()),
        (
            "Client authentication",
            format!("{} {}", report.client_auth_method.as_str(), if report.supports_client_auth { "supported" } else { "not advertised" }),
        ),
        ("FHIR version", report.fhir_version.clone().unwrap_or_else(|| "–".into())),
    ];
    view! {
        <div class=if report.ok { "report ok" } else { "report failed" }>
            <p><strong>{status}</strong></p>
            <dl class="facts">{facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
            <ul class="findings">
                {report.findings.into_iter().map(|f| {
                    let (class, word) = if f.severity == Severity::Error { ("finding error", "Problem") } else { ("finding warning", "Note") };
                    view! { <li class=class><strong>{word} ": "</strong>{f.message} " " <code>{f.code}</code></li> }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn FhirBases(tenant: RwSignal<Tenant>) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let conflict = RwSignal::new(None::<Tenant>);
    let on_saved = Callback::new(move |t| tenant.set(t));
    let on_conflict = Callback::new(move |t| conflict.set(Some(t)));
    // The base being edited in the form below, if any.
    let editing = RwSignal::new(None::<FhirBase>);
    let on_edit = Callback::new(move |b| editing.set(Some(b)));
    // The list follows the tenant; the form below is made once, so what the
    // admin typed survives a save, a conflict and a reload.
    let rows = move || {
        let t = tenant.get();
        t.fhir_bases.iter().cloned().map(|b| view! { <BaseRow base=b tenant=t.clone() on_saved on_conflict on_edit/> }).collect_view()
    };
    view! {
        <section aria-labelledby="bases-title">
            <h3 id="bases-title">"FHIR base URLs"</h3>
            {move || conflict.get().map(|theirs| view! { <Conflict theirs on_reload=Callback::new(move |t| { conflict.set(None); on_saved.run(t) })/> })}
            {move || tenant.get().fhir_bases.is_empty().then(|| view! { <p class="empty">"No FHIR base yet. Add the first one below."</p> })}
            <ul class="bases">{rows}</ul>
            <AddBase tenant csrf on_saved on_conflict editing/>
        </section>
    }
}

#[component]
fn BaseRow(
    base: FhirBase,
    tenant: Tenant,
    on_saved: Callback<Tenant>,
    on_conflict: Callback<Tenant>,
    on_edit: Callback<FhirBase>,
) -> impl IntoView {
    let for_edit = base.clone();
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let confirming = RwSignal::new(false);
    let busy = RwSignal::new(None::<&'static str>);
    let error = RwSignal::new(None::<Failure>);
    let report = RwSignal::new(base.validation.clone());
    let (id, version, url, auth) = (base.id.clone(), tenant.version, base.url.clone(), base.client.auth_method);
    let remove = {
        let (csrf, tid, id) = (csrf.clone(), tenant.id.clone(), id.clone());
        move |_| {
            busy.set(Some("Removing…"));
            let (csrf, url) = (csrf.clone(), api::tenant_url(&tid, &format!("/fhir-bases/{id}")));
            spawn_local(async move {
                match api::save("DELETE", url, csrf, version, None).await {
                    Saved::Ok(t) => on_saved.run(*t),
                    Saved::Conflict(t) => on_conflict.run(*t),
                    Saved::Invalid(_, f) | Saved::Failed(f, _) => error.set(Some(f)),
                }
                busy.set(None);
                confirming.set(false);
            });
        }
    };
    let revalidate = {
        let csrf = csrf.clone();
        move |_| {
            busy.set(Some("Validating…"));
            let (csrf, url) = (csrf.clone(), url.clone());
            spawn_local(async move {
                match api::validate_base(url, auth, csrf).await {
                    Ok(r) => report.set(r),
                    Err(f) => error.set(Some(f)),
                }
                busy.set(None);
            });
        }
    };
    let platform = use_context::<Platform>().is_some_and(|p| p.0);
    let approve = {
        let (csrf, url) = (csrf.clone(), api::tenant_url(&tenant.id, &format!("/fhir-bases/{id}/approve")));
        move |_| {
            busy.set(Some("Approving…"));
            let (csrf, url) = (csrf.clone(), url.clone());
            spawn_local(async move {
                match api::save("POST", url, csrf, version, Some(serde_json::json!({}))).await {
                    Saved::Ok(t) => on_saved.run(*t),
                    Saved::Conflict(t) => on_conflict.run(*t),
                    Saved::Invalid(_, f) | Saved::Failed(f, _) => error.set(Some(f)),
                }
                busy.set(None);
            });
        }
    };
    let pending = !base.approved();
    let label = if base.department.is_empty() { base.url.clone() } else { base.department.clone() };
    view! {
        <li class="base">
            <h4>{env_badge(base.environment)} " " {label.clone()} {pending.then(|| view! { " " <span class="badge pending">"Waiting for approval"</span> })}</h4>
            <p><code>{base.url.clone()}</code> " · client " <code>{base.client.client_id.clone()}</code> " · " {base.client.auth_method.as_str()}</p>
            <p class="rule">"Video visits: " {match &base.video_rule {
                VideoRule::OracleRooms => "Oracle Health's Video Visit type or meeting rooms".to_string(),
                VideoRule::Listed { types } => format!("appointments of type {}", types.join(", ")),
                VideoRule::Every => "every appointment launched from".to_string(),
            }}</p>
            {pending.then(|| view! {
                <p class="note">"Launches and texts start once a platform admin approves this URL for your organisation."</p>
            })}
            <details><summary>"Validation"</summary>{move || view! { <Report report=report.get()/> }}</details>
            {(base.client.auth_method == ClientAuthMethod::PrivateKeyJwt).then(|| view! { <WatchList base=base.clone() tenant=tenant.clone() on_saved on_conflict/> })}
            <p class="actions">
                {(pending && platform).then(|| view! {
                    <button type="button" class="button" aria-label=format!("Approve {label}") on:click=approve.clone() disabled=move || busy.get().is_some()>"Approve"</button>
                    " "
                })}
                <button type="button" class="button button-secondary" on:click=revalidate disabled=move || busy.get().is_some()>"Re-validate"</button>
                " "
                <button type="button" class="button button-secondary" aria-label=format!("Edit {label}") on:click=move |_| on_edit.run(for_edit.clone())>"Edit…"</button>
                " "
                {move || if confirming.get() {
                    let remove = remove.clone();
                    view! {
                        <span role="alert">{format!("Remove {label}? Launches from it will stop working. ")}</span>
                        <button type="button" class="button" on:click=remove>"Yes, remove"</button>
                        " "
                        <button type="button" class="button button-secondary" on:click=move |_| confirming.set(false)>"Keep it"</button>
                    }.into_any()
                } else {
                    view! { <button type="button" class="button button-secondary" on:click=move |_| confirming.set(true)>"Remove…"</button> }.into_any()
                }}
                {move || busy.get().map(|b| view! { <span role="status" class="progress">" " {b}</span> })}
            </p>
            {move || error.get().map(failure_view)}
        </li>
    }
}

#[component]
fn AddBase(
    tenant: RwSignal<Tenant>,
    csrf: Csrf,
    on_saved: Callback<Tenant>,
    on_conflict: Callback<Tenant>,
    editing: RwSignal<Option<FhirBase>>,
) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let touched = RwSignal::new(false);
    let environment = RwSignal::new(Environment::Test);
    let department = RwSignal::new(String::new());
    let client_id = RwSignal::new(String::new());
    let auth = RwSignal::new(ClientAuthMethod::PrivateKeyJwt);
    let secret_ref = RwSignal::new(String::new());
    // "oracle_rooms" | "listed" | "every", and the listed types as typed.
    let rule_kind = RwSignal::new("oracle_rooms".to_string());
    let rule_types = RwSignal::new(String::new());
    let busy = RwSignal::new(None::<&'static str>);
    let report = RwSignal::new(None::<ValidationReport>);
    let error = RwSignal::new(None::<(Failure, Option<String>)>);
    let done = RwSignal::new(false);
    // Editing fills the form with the base as stored; validation runs again on save.
    Effect::new(move |_| {
        if let Some(b) = editing.get() {
            url.set(b.url.clone());
            environment.set(b.environment);
            department.set(b.department.clone());
            client_id.set(b.client.client_id.clone());
            auth.set(b.client.auth_method);
            secret_ref.set(b.client.secret_ref.clone().unwrap_or_default());
            let (kind, types) = match &b.video_rule {
                VideoRule::OracleRooms => ("oracle_rooms", String::new()),
                VideoRule::Listed { types } => ("listed", types.join(", ")),
                VideoRule::Every => ("every", String::new()),
            };
            rule_kind.set(kind.into());
            rule_types.set(types);
            done.set(false);
        }
    });
    // Changing what was validated means validating again.
    Effect::new(move |_| {
        url.track();
        auth.track();
        report.set(None);
    });
    let problem = move || touched.get().then(|| url_problem(&url.get())).flatten();
    let validate = {
        let csrf = csrf.clone();
        move |_| {
            touched.set(true);
            if url_problem(&url.get_untracked()).is_some() {
                return;
            }
            busy.set(Some("Checking the FHIR server: discovery, capabilities, PKCE and client authentication…"));
            error.set(None);
            let (csrf, u, a) = (csrf.clone(), url.get_untracked(), auth.get_untracked());
            spawn_local(async move {
                match api::validate_base(u, a, csrf).await {
                    Ok(r) => report.set(Some(r)),
                    Err(f) => error.set(Some((f, None))),
                }
                busy.set(None);
            });
        }
    };
    let save = move |_| {
        busy.set(Some("Saving…"));
        error.set(None);
        let mut client = serde_json::json!({ "client_id": client_id.get_untracked().trim(), "auth_method": auth.get_untracked() });
        if auth.get_untracked() == ClientAuthMethod::ClientSecretBasic {
            client["secret_ref"] = secret_ref.get_untracked().trim().into();
        }
        let video_rule = match rule_kind.get_untracked().as_str() {
            "listed" => VideoRule::Listed { types: rule_types.get_untracked().split(',').map(|t| t.trim().to_string()).collect() },
            "every" => VideoRule::Every,
            _ => VideoRule::OracleRooms,
        };
        let body = serde_json::json!({ "url": url.get_untracked().trim(), "environment": environment.get_untracked(), "department": department.get_untracked().trim(), "client": client, "video_rule": video_rule });
        let t = tenant.get_untracked();
        let (method, path) = match editing.get_untracked() {
            Some(b) => ("PUT", format!("/fhir-bases/{}", b.id)),
            None => ("POST", "/fhir-bases".to_string()),
        };
        let (csrf, target, version) = (csrf.clone(), api::tenant_url(&t.id, &path), t.version);
        spawn_local(async move {
            match api::save(method, target, csrf, version, Some(body)).await {
                Saved::Ok(t) => {
                    done.set(true);
                    editing.set(None);
                    on_saved.run(*t);
                }
                Saved::Conflict(t) => on_conflict.run(*t),
                Saved::Invalid(r, f) => {
                    report.set(Some(*r));
                    error.set(Some((f, None)));
                }
                Saved::Failed(f, field) => error.set(Some((f, field))),
            }
            busy.set(None);
        });
    };
    let field_error = move |name: &str| {
        error.get().and_then(|(f, field)| {
            (field.as_deref() == Some(name) || field.as_deref().is_some_and(|x| x.starts_with(&format!("{name}.")))).then_some(f.message)
        })
    };
    view! {
        <form class="add-base" on:submit=|ev| ev.prevent_default() aria-labelledby="add-base-title">
            <h3 id="add-base-title">{move || match editing.get() {
                Some(b) => format!("Edit {}", if b.department.is_empty() { b.url } else { b.department }),
                None => "Add a FHIR base URL".to_string(),
            }}</h3>
            <label for="base-url">"FHIR base URL"</label>
            <input id="base-url" type="url" required autocomplete="off" prop:value=move || url.get()
                on:input=move |ev| url.set(event_target_value(&ev)) on:blur=move |_| touched.set(true)
                aria-invalid=move || problem().is_some().to_string() aria-describedby="base-url-help"/>
            <p id="base-url-help" class=move || if problem().is_some() { "field-error" } else { "hint" }>
                {move || problem().unwrap_or_else(|| "As in the EHR's code console, e.g. https://fhir-ehr.cerner.com/r4/<tenant id>".into())}
            </p>
            <fieldset><legend>"Environment"</legend>
                <label><input type="radio" name="environment" prop:checked=move || environment.get() == Environment::Test on:change=move |_| environment.set(Environment::Test)/> " " {env_badge(Environment::Test)}</label>
                " "
                <label><input type="radio" name="environment" prop:checked=move || environment.get() == Environment::Production on:change=move |_| environment.set(Environment::Production)/> " " {env_badge(Environment::Production)}</label>
            </fieldset>
            <label for="base-department">"Department label"</label>
            <input id="base-department" type="text" prop:value=move || department.get() on:input=move |ev| department.set(event_target_value(&ev))/>
            <label for="base-client">"Client id (from the EHR's app registration)"</label>
            <input id="base-client" type="text" prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev)) aria-describedby="base-client-error"/>
            <p id="base-client-error" class="field-error">{move || field_error("client")}</p>
            <label for="base-auth">"Client authentication"</label>
            <select id="base-auth" prop:value=move || auth.get().as_str() on:change=move |ev| auth.set(if event_target_value(&ev) == "client_secret_basic" { ClientAuthMethod::ClientSecretBasic } else { ClientAuthMethod::PrivateKeyJwt })>
                <option value="private_key_jwt" selected=true>"private_key_jwt (recommended; our public key is in the integration records)"</option>
                <option value="client_secret_basic">"client_secret_basic (a client secret)"</option>
            </select>
            {move || (auth.get() == ClientAuthMethod::ClientSecretBasic).then(|| view! {
                <label for="base-secret">"Name of the secret holding the client secret"</label>
                <input id="base-secret" type="text" placeholder="EHR_CLIENT_SECRET_MAIN" prop:value=move || secret_ref.get() on:input=move |ev| secret_ref.set(event_target_value(&ev))/>
                <SecretValue tenant_id=tenant.get_untracked().id name=Signal::derive(move || secret_ref.get()) id="base-secret-value" label="Client secret (write-only: stored encrypted, never shown again)"/>
            })}
            <fieldset aria-describedby="base-rule-error"><legend>"Which appointments are video visits"</legend>
                {[("oracle_rooms", "Oracle Health: the Video Visit type or its virtual meeting rooms"), ("listed", "Appointments of these types"), ("every", "Every appointment launched from")]
                    .into_iter().map(|(k, label)| view! {
                        <label><input type="radio" name="video-rule" value=k prop:checked=move || rule_kind.get() == k on:change=move |_| rule_kind.set(k.into())/> " " {label}</label>
                    }).collect_view()}
                {move || (rule_kind.get() == "listed").then(|| view! {
                    <label for="base-rule-types">"Appointment or service types (codes or names, separated by commas)"</label>
                    <input id="base-rule-types" type="text" placeholder="Telehealth, VR" prop:value=move || rule_types.get() on:input=move |ev| rule_types.set(event_target_value(&ev))/>
                })}
                <p id="base-rule-error" class="field-error">{move || field_error("video_rule")}</p>
            </fieldset>
            <p class="actions">
                <button type="button" class="button button-secondary" on:click=validate disabled=move || busy.get().is_some()>"Validate"</button>
                " "
                <button type="button" class="button" on:click=save
                    disabled=move || busy.get().is_some() || !report.get().is_some_and(|r| r.ok) || client_id.get().trim().is_empty()>"Done"</button>
                {move || editing.get().is_some().then(|| view! {
                    " " <button type="button" class="button button-secondary" on:click=move |_| editing.set(None)>"Cancel editing"</button>
                })}
                {move || busy.get().map(|b| view! { <span role="status" class="progress">" " {b}</span> })}
            </p>
            <p class="hint">"“Done” becomes available once validation has passed and a client id is given."</p>
            {move || report.get().map(|r| view! { <Report report=r/> })}
            {move || error.get().map(|(f, _)| failure_view(f))}
            {move || done.get().then(|| view! { <p role="status" class="ok">"Saved. The FHIR base is in the list above."</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_problems_are_plain() {
        assert!(url_problem("").is_some());
        assert!(url_problem("not a url").is_some());
        assert!(url_problem("ftp://x.example").is_some());
        assert!(url_problem("https://x.example/r4?x=1").is_some());
        assert_eq!(url_problem("https://fhir-ehr.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d"), None);
    }
}
