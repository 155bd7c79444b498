//! Video: the provider per tenant (Teams via Microsoft Graph, or self-hosted
//! Jitsi-style rooms) and its settings, plus how a launch behaves. Secrets
//! are never entered or shown here: the settings name the Worker secret
//! that holds them.

use leptos::prelude::*;
use shared::tenant::Tenant;
use shared::video::{JitsiSettings, LaunchSettings, TeamsSettings, VideoSettings};

use crate::api::Csrf;
use crate::widgets::save::{failure_view, Conflict, SaveState};
use crate::widgets::secret::SecretValue;

fn teams_default() -> VideoSettings {
    VideoSettings::Teams(TeamsSettings {
        entra_tenant_id: String::new(),
        client_id: String::new(),
        client_secret_ref: "VIDEO_CLIENT_SECRET".into(),
        organizer_user_id: String::new(),
        login_base: "https://login.microsoftonline.com".into(),
        graph_base: "https://graph.microsoft.com".into(),
    })
}

fn jitsi_default() -> VideoSettings {
    VideoSettings::Jitsi(JitsiSettings { base_url: String::new(), app_id: String::new(), secret_ref: "JITSI_SECRET".into() })
}

/// One text input bound to a field of the settings (made once; value read untracked).
fn field(
    id: &'static str,
    label: &'static str,
    value: String,
    set: impl Fn(&mut VideoSettings, String) + Copy + 'static,
    video: RwSignal<VideoSettings>,
) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id type="text" prop:value=value on:change=move |ev| { let v = event_target_value(&ev); video.update(|s| set(s, v)) }/>
    }
}

fn secret_name(v: &VideoSettings) -> String {
    match v {
        VideoSettings::Teams(t) => t.client_secret_ref.clone(),
        VideoSettings::Jitsi(j) => j.secret_ref.clone(),
    }
}

fn inputs(video: RwSignal<VideoSettings>, tenant_id: String) -> AnyView {
    match video.get_untracked() {
        VideoSettings::Teams(t) => view! {
            {field("v-tenant", "Entra ID directory (tenant) id", t.entra_tenant_id, |s, v| if let VideoSettings::Teams(t) = s { t.entra_tenant_id = v }, video)}
            {field("v-client", "App (client) id", t.client_id, |s, v| if let VideoSettings::Teams(t) = s { t.client_id = v }, video)}
            {field("v-secret", "Name of the secret holding the client secret", t.client_secret_ref, |s, v| if let VideoSettings::Teams(t) = s { t.client_secret_ref = v }, video)}
            <SecretValue tenant_id=tenant_id.clone() name=Signal::derive(move || secret_name(&video.get())) id="v-secret-value" label="Client secret (write-only: stored encrypted, never shown again)"/>
            {field("v-organizer", "Meeting organiser (user id or UPN)", t.organizer_user_id, |s, v| if let VideoSettings::Teams(t) = s { t.organizer_user_id = v }, video)}
            {field("v-login", "Sign-in address", t.login_base, |s, v| if let VideoSettings::Teams(t) = s { t.login_base = v }, video)}
            {field("v-graph", "Microsoft Graph address", t.graph_base, |s, v| if let VideoSettings::Teams(t) = s { t.graph_base = v }, video)}
        }
        .into_any(),
        VideoSettings::Jitsi(j) => view! {
            {field("v-base", "Meeting server", j.base_url, |s, v| if let VideoSettings::Jitsi(j) = s { j.base_url = v }, video)}
            {field("v-app", "App id", j.app_id, |s, v| if let VideoSettings::Jitsi(j) = s { j.app_id = v }, video)}
            {field("v-jsecret", "Name of the secret holding the app secret", j.secret_ref, |s, v| if let VideoSettings::Jitsi(j) = s { j.secret_ref = v }, video)}
            <SecretValue tenant_id=tenant_id.clone() name=Signal::derive(move || secret_name(&video.get())) id="v-jsecret-value" label="App secret (write-only: stored encrypted, never shown again)"/>
        }
        .into_any(),
    }
}

#[component]
pub fn Video(tenant: RwSignal<Tenant>) -> impl IntoView {
    let csrf = use_context::<Csrf>().unwrap_or(Csrf(None));
    let video = RwSignal::new(tenant.get_untracked().video.unwrap_or_else(teams_default));
    let launch = RwSignal::new(tenant.get_untracked().launch);
    let state = SaveState::new();
    let SaveState { busy, saved, error, conflict } = state;
    let tid = tenant.get_untracked().id;
    let is_jitsi = Memo::new(move |_| video.with(|v| matches!(v, VideoSettings::Jitsi(_))));
    let save = {
        let csrf = csrf.clone();
        move |_| {
            state.put(tenant, csrf.clone(), "", Some(serde_json::json!({ "display_name": tenant.get_untracked().display_name, "video": video.get_untracked(), "launch": launch.get_untracked() })))
        }
    };
    let set_launch = move |f: fn(&mut LaunchSettings, bool)| {
        move |ev| {
            let on = event_target_checked(&ev);
            launch.update(|l| f(l, on))
        }
    };
    view! {
        <section class="sms" aria-labelledby="video-title">
            <h3 id="video-title">"Video"</h3>
            {move || conflict.get().map(|theirs| view! { <Conflict theirs on_reload=Callback::new(move |t: Tenant| {
                conflict.set(None);
                video.set(t.video.clone().unwrap_or_else(teams_default));
                launch.set(t.launch.clone());
                tenant.set(t)
            })/> })}
            <fieldset><legend>"Provider"</legend>
                <label class="choice"><input type="radio" name="video-provider" prop:checked=move || !is_jitsi.get() on:change=move |_| video.set(teams_default())/> " Microsoft Teams (through Microsoft Graph)"</label>
                <label class="choice"><input type="radio" name="video-provider" prop:checked=move || is_jitsi.get() on:change=move |_| video.set(jitsi_default())/> " Self-hosted Jitsi-style rooms"</label>
                {move || { is_jitsi.track(); inputs(video, tid.clone()) }}
            </fieldset>
            <fieldset><legend>"Launch"</legend>
                <label class="choice"><input type="checkbox" prop:checked=move || launch.get().write_back on:change=set_launch(|l, on| l.write_back = on)/>
                    " Write the meeting links into the EHR appointment"</label>
                <label class="choice"><input type="checkbox" prop:checked=move || launch.get().skip_provider_page on:change=set_launch(|l, on| l.skip_provider_page = on)/>
                    " Send returning clinicians straight into the meeting"</label>
                <label class="choice"><input type="checkbox" prop:checked=move || launch.get().patient_tracking on:change=set_launch(|l, on| l.patient_tracking = on)/>
                    " Show patients as arrived and checked in on the EHR's tracking board"</label>
            </fieldset>
            <p class="actions">
                <button type="button" class="button" on:click=save disabled=move || busy.get()>"Save video settings"</button>
                {move || busy.get().then(|| view! { <span role="status" class="progress">" Saving…"</span> })}
                {move || saved.get().then(|| view! { <span role="status" class="ok">" Saved."</span> })}
            </p>
            {move || error.get().map(|(f, field)| view! {
                {field.map(|x| view! { <p class="field-error">{format!("Field {x}:")}</p> })}
                {failure_view(f)}
            })}
        </section>
    }
}
