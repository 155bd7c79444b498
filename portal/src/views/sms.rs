//! SMS notifications (optional step, as in the seed): the two consents (both
//! required), the provider, "Generate a new phone number" with progress that
//! survives a reload, a number per FHIR base, and message templates per
//! language with a live preview and the GSM-7 / UCS-2 segment count.

use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::sms::{render, segments, Encoding, Fill, MessageKind, SmsProvider, SmsSettings, Templates, ALL_KINDS};
use shared::tenant::Tenant;

use crate::api::{self, Csrf, Failure};
use crate::widgets::badge::env_badge;
use crate::widgets::save::{failure_view, Conflict, SaveState};
use crate::widgets::secret::SecretValue;

fn blank() -> SmsSettings {
    serde_json::from_value(serde_json::json!({"provider": {"kind": "twilio", "account_sid": "", "auth_token_ref": "TWILIO_AUTH_TOKEN"}}))
        .expect("defaults")
}

fn kind_label(k: MessageKind) -> &'static str {
    match k {
        MessageKind::Confirmation => "Confirmation (booked)",
        MessageKind::Changed => "Changed time",
        MessageKind::Cancelled => "Cancelled",
        MessageKind::Reminder => "Reminder",
        MessageKind::Link => "Link sent by the clinician",
    }
}

fn template_mut(t: &mut Templates, k: MessageKind) -> &mut String {
    match k {
        MessageKind::Confirmation => &mut t.confirmation,
        MessageKind::Changed => &mut t.changed,
        MessageKind::Cancelled => &mut t.cancelled,
        MessageKind::Reminder => &mut t.reminder,
        MessageKind::Link => &mut t.link,
    }
}

/// What a template looks like with sample values, and its segment count.
pub fn preview(template: &str, clinic: &str) -> (String, String) {
    let text = render(template, &Fill { clinic, date: "Mon, Nov 23", time: "09:30 AM", link: "https://visits.example.org/j/AbCdEf123456" });
    let c = segments(&text);
    let enc = if c.encoding == Encoding::Gsm7 { "GSM-7" } else { "UCS-2" };
    let n = if c.segments == 1 { "1 segment".to_string() } else { format!("{} segments", c.segments) };
    (text, format!("{n} · {enc} · {} characters", c.units))
}

#[component]
pub fn Sms(tenant: RwSignal<Tenant>) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let start = tenant.get_untracked().sms.unwrap_or_else(blank);
    let settings = RwSignal::new(start);
    let state = SaveState::new();
    let SaveState { busy, saved, error, conflict } = state;
    let lang = RwSignal::new("en".to_string());
    let tid = tenant.get_untracked().id;

    // Number orders: listed from the server, so progress survives a reload;
    // polled while one is running.
    let orders = RwSignal::new(Vec::<api::NumberOrder>::new());
    let order_error = RwSignal::new(None::<Failure>);
    let area = RwSignal::new(String::new());
    let poll = {
        let tid = tid.clone();
        move || {
            let tid = tid.clone();
            spawn_local(async move {
                loop {
                    match api::numbers(tid.clone()).await {
                        Ok(n) => {
                            let running = n.orders.iter().any(|o| o.status == api::OrderStatus::Running);
                            // A finished order added its number to the stored settings.
                            let new: Vec<String> =
                                n.numbers.iter().filter(|x| !settings.with_untracked(|s| s.numbers.contains(x))).cloned().collect();
                            if !new.is_empty() {
                                settings.update(|s| s.numbers.extend(new));
                                // Follow that one stored change, so the next save is not a
                                // conflict with ourselves; anyone else's change still is.
                                let mine = tenant.get_untracked().version;
                                if let Ok(t) = api::tenant(tid.clone()).await {
                                    if t.version == mine + 1 {
                                        tenant.set(t);
                                    }
                                }
                            }
                            orders.set(n.orders);
                            if !running {
                                break;
                            }
                        }
                        Err(f) => {
                            order_error.set(Some(f));
                            break;
                        }
                    }
                    gloo_timers_sleep(2000).await;
                }
            });
        }
    };
    poll();
    let generate = {
        let (csrf, tid, poll) = (csrf.clone(), tid.clone(), poll.clone());
        move |_| {
            order_error.set(None);
            let (csrf, tid, poll) = (csrf.clone(), tid.clone(), poll.clone());
            let a = area.get_untracked();
            spawn_local(async move {
                match api::order_number(tid, a, csrf).await {
                    Ok(()) => poll(),
                    Err(f) => order_error.set(Some(f)),
                }
            });
        }
    };
    let save = {
        let csrf = csrf.clone();
        move |_| state.put(tenant, csrf.clone(), "/sms", serde_json::to_value(settings.get_untracked()).ok())
    };
    let field_error = move |name: &'static str| {
        error.get().and_then(|(f, field)| field.is_some_and(|x| x == name || x.starts_with(&format!("{name}."))).then_some(f.message))
    };
    // Inputs are made once per provider kind and read their start value
    // untracked: re-creating them on every change would lose focus and text.
    let is_acs = Memo::new(move |_| settings.with(|s| matches!(s.provider, SmsProvider::Acs { .. })));
    let tid_inputs = tid.clone();
    let provider_fields = move || {
        is_acs.track();
        provider_inputs(settings, tid_inputs.clone())
    };
    let bases = move || {
        let t = tenant.get();
        // (Options follow the numbers; the selects stay.)
        t.fhir_bases
            .into_iter()
            .map(|b| {
                let id = b.id.clone();
                let id2 = b.id.clone();
                let label = if b.department.is_empty() { b.url.clone() } else { b.department.clone() };
                let select_id = format!("num-{}", b.id);
                let options = move || {
                    let s = settings.get();
                    let chosen = s.base_numbers.get(&id).cloned().unwrap_or_default();
                    let mut v = vec![view! { <option value="" selected=chosen.is_empty()>"No texts"</option> }.into_any()];
                    v.extend(s.numbers.iter().map(|n| view! { <option value=n.clone() selected=*n == chosen>{n.clone()}</option> }.into_any()));
                    v
                };
                view! {
                    <li>
                        <label for=select_id.clone()>{env_badge(b.environment)} " " {label}</label>
                        <select id=select_id on:change=move |ev| {
                            let v = event_target_value(&ev);
                            settings.update(|s| if v.is_empty() { s.base_numbers.remove(&id2); } else { s.base_numbers.insert(id2.clone(), v); });
                        }>{options}</select>
                    </li>
                }
            })
            .collect_view()
    };
    let templates = move || {
        let l = lang.get();
        ALL_KINDS
            .iter()
            .map(|&k| {
                let (l2, l3) = (l.clone(), l.clone());
                let text = settings.with_untracked(|s| s.templates.get(&l).map(|t| t.get(k).to_string()).unwrap_or_default());
                let shown = Memo::new(move |_| {
                    let (text, clinic) = settings.with(|s| (s.templates.get(&l3).map(|t| t.get(k).to_string()).unwrap_or_default(), s.clinic_name.clone()));
                    let clinic = if clinic.is_empty() { tenant.with(|t| t.display_name.clone()) } else { clinic };
                    preview(&text, &clinic)
                });
                let id = format!("tpl-{l}-{k:?}");
                view! {
                    <div class="template">
                        <label for=id.clone()>{kind_label(k)}</label>
                        <textarea id=id rows="3" prop:value=text on:input=move |ev| {
                            let v = event_target_value(&ev);
                            settings.update(|s| { let t = s.templates.entry(l2.clone()).or_insert_with(|| shared::sms::default_templates()["en"].clone()); *template_mut(t, k) = v; });
                        }/>
                        <p class="preview"><span class="hint">"Preview: "</span>{move || shown.get().0}</p>
                        <p class="hint">{move || shown.get().1}</p>
                    </div>
                }
            })
            .collect_view()
    };
    let langs = Memo::new(move |_| settings.with(|s| s.templates.keys().cloned().collect::<Vec<String>>()));
    view! {
        <section class="sms" aria-labelledby="sms-title">
            <h3 id="sms-title">"SMS notifications (optional)"</h3>
            {move || conflict.get().map(|theirs| view! { <Conflict theirs on_reload=Callback::new(move |t: Tenant| { conflict.set(None); settings.set(t.sms.clone().unwrap_or_else(blank)); tenant.set(t) })/> })}
            <fieldset><legend>"Consent (both are required before any text is sent)"</legend>
                <label class="choice"><input type="checkbox" prop:checked=move || settings.get().consent_send_on_behalf on:change=move |ev| settings.update(|s| s.consent_send_on_behalf = event_target_checked(&ev))/>
                    " Allow Visitgate to send text messages on our organisation's behalf"</label>
                <label class="choice"><input type="checkbox" prop:checked=move || settings.get().consent_attendees on:change=move |ev| settings.update(|s| s.consent_attendees = event_target_checked(&ev))/>
                    " Our organisation has the attendees' consent to receive text messages"</label>
            </fieldset>
            <fieldset><legend>"Provider"</legend>
                <label class="choice"><input type="radio" name="sms-provider" prop:checked=move || !is_acs.get() on:change=move |_| settings.update(|s| s.provider = blank().provider)/> " Twilio"</label>
                <label class="choice"><input type="radio" name="sms-provider" prop:checked=move || is_acs.get() on:change=move |_| settings.update(|s| s.provider = SmsProvider::Acs { endpoint: String::new(), access_key_ref: "ACS_ACCESS_KEY".into() })/> " Azure Communication Services"</label>
                {provider_fields}
                <p class="field-error">{move || field_error("provider")}</p>
            </fieldset>
            <fieldset><legend>"Phone numbers"</legend>
                <ul>{move || settings.get().numbers.into_iter().map(|n| view! { <li><code>{n}</code></li> }).collect_view()}</ul>
                <label for="area">"Area code (optional)"</label>
                <input id="area" type="text" inputmode="numeric" maxlength="3" prop:value=move || area.get() on:input=move |ev| area.set(event_target_value(&ev))/>
                <button type="button" class="button button-secondary" on:click=generate>"Generate a new phone number"</button>
                <p class="hint">"Save the provider first. Buying a number can take minutes; you can leave this page and come back."</p>
                <ul class="orders">{move || orders.get().into_iter().map(|o| view! {
                    <li><span role="status">{format!("Order {}: {}", o.id, o.step)} {o.number.map(|n| format!(" — {n}"))} {o.error.map(|e| format!(" — {e}"))}</span></li>
                }).collect_view()}</ul>
                {move || order_error.get().map(failure_view)}
            </fieldset>
            <fieldset><legend>"Number per FHIR base (one number may serve many bases)"</legend>
                <ul class="base-numbers">{bases}</ul>
                <p class="field-error">{move || field_error("base_numbers")}</p>
            </fieldset>
            <label for="clinic-name">"Clinic name in messages"</label>
            <input id="clinic-name" type="text" prop:value=move || settings.get().clinic_name on:input=move |ev| settings.update(|s| s.clinic_name = event_target_value(&ev))/>
            <label for="clinic-phone">"Clinic phone (shown when a link has expired)"</label>
            <input id="clinic-phone" type="tel" prop:value=move || settings.get().clinic_phone.unwrap_or_default() on:input=move |ev| { let v = event_target_value(&ev); settings.update(|s| s.clinic_phone = (!v.trim().is_empty()).then_some(v)); }/>
            <p class="field-error">{move || field_error("clinic_phone")}</p>
            <label for="time-zone">"Time zone of the times in messages"</label>
            <input id="time-zone" type="text" prop:value=move || settings.get().time_zone on:input=move |ev| settings.update(|s| s.time_zone = event_target_value(&ev))/>
            <h4>"Message templates"</h4>
            <p class="hint">"Placeholders: {clinic}, {date}, {time}, {link}. One segment is cheapest; non-GSM characters (e.g. emoji) switch to UCS-2 with 70 characters per segment."</p>
            <div role="group" aria-label="Language">
                {move || langs.get().into_iter().map(|l| {
                    let l2 = l.clone();
                    view! { <button type="button" class="tab" aria-pressed=move || (lang.get() == l2).to_string() on:click={ let l = l.clone(); move |_| lang.set(l.clone()) }>{l.to_uppercase()}</button> }
                }).collect_view()}
            </div>
            {templates}
            <p class="field-error">{move || field_error("templates")}</p>
            <p class="actions">
                <button type="button" class="button" on:click=save disabled=move || busy.get()>"Save SMS settings"</button>
                {move || busy.get().then(|| view! { <span role="status" class="progress">" Saving…"</span> })}
                {move || saved.get().then(|| view! { <span role="status" class="ok">" Saved."</span> })}
            </p>
            {move || error.get().map(|(f, _)| failure_view(f))}
        </section>
    }
}

/// The provider's fields, made when the provider kind changes.
fn provider_inputs(settings: RwSignal<SmsSettings>, tenant_id: String) -> AnyView {
    match settings.get_untracked().provider {
        SmsProvider::Twilio { account_sid, auth_token_ref, api_base } => view! {
            <label for="tw-sid">"Twilio Account SID"</label>
            <input id="tw-sid" type="text" prop:value=account_sid.clone() on:change=move |ev| settings.update(|s| if let SmsProvider::Twilio { account_sid, .. } = &mut s.provider { *account_sid = event_target_value(&ev) })/>
            <label for="tw-token">"Name of the secret holding the auth token"</label>
            <input id="tw-token" type="text" prop:value=auth_token_ref.clone() on:change=move |ev| settings.update(|s| if let SmsProvider::Twilio { auth_token_ref, .. } = &mut s.provider { *auth_token_ref = event_target_value(&ev) })/>
            <SecretValue tenant_id=tenant_id.clone() name=Signal::derive(move || settings.with(|s| match &s.provider { SmsProvider::Twilio { auth_token_ref, .. } => auth_token_ref.clone(), SmsProvider::Acs { access_key_ref, .. } => access_key_ref.clone() })) id="tw-token-value" label="Auth token (write-only: stored encrypted, never shown again)"/>
            <label for="tw-api">"API address"</label>
            <input id="tw-api" type="url" prop:value=api_base.clone() on:change=move |ev| settings.update(|s| if let SmsProvider::Twilio { api_base, .. } = &mut s.provider { *api_base = event_target_value(&ev) })/>
        }.into_any(),
        SmsProvider::Acs { endpoint, access_key_ref } => view! {
            <label for="acs-endpoint">"Communication Services endpoint"</label>
            <input id="acs-endpoint" type="url" prop:value=endpoint.clone() on:change=move |ev| settings.update(|s| if let SmsProvider::Acs { endpoint, .. } = &mut s.provider { *endpoint = event_target_value(&ev) })/>
            <label for="acs-key">"Name of the secret holding the access key"</label>
            <input id="acs-key" type="text" prop:value=access_key_ref.clone() on:change=move |ev| settings.update(|s| if let SmsProvider::Acs { access_key_ref, .. } = &mut s.provider { *access_key_ref = event_target_value(&ev) })/>
            <SecretValue tenant_id=tenant_id.clone() name=Signal::derive(move || settings.with(|s| match &s.provider { SmsProvider::Acs { access_key_ref, .. } => access_key_ref.clone(), SmsProvider::Twilio { auth_token_ref, .. } => auth_token_ref.clone() })) id="acs-key-value" label="Access key (write-only: stored encrypted, never shown again)"/>
        }.into_any(),
        }
}

/// Waits `ms` milliseconds (setTimeout through the global object).
async fn gloo_timers_sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let set_timeout: js_sys::Function = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into()).expect("setTimeout").into();
        let _ = set_timeout.call2(&wasm_bindgen::JsValue::NULL, &resolve, &ms.into());
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_counts_segments() {
        let (text, count) = preview("{clinic}: video visit {date} at {time}. Join: {link}", "Clinic");
        assert!(text.starts_with("Clinic: video visit Mon, Nov 23 at 09:30 AM. Join: https://"));
        assert!(count.starts_with("1 segment · GSM-7"), "{count}");
        let (_, count) = preview("{clinic} 🙂 {link}", "Clinic");
        assert!(count.contains("UCS-2"), "{count}");
    }
}
