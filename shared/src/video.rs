//! Per-tenant video provider and launch options.

use serde::{Deserialize, Serialize};

use crate::fhir_url::is_acceptable_endpoint;

/// Which video service hosts a tenant's meetings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum VideoSettings {
    /// Microsoft Teams through Graph `onlineMeetings/createOrGet`, app-only.
    Teams(TeamsSettings),
    /// Self-hosted Jitsi-style rooms with a signed JWT per participant.
    Jitsi(JitsiSettings),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsSettings {
    /// Entra ID (Azure AD) directory id of the health system.
    pub entra_tenant_id: String,
    pub client_id: String,
    /// Name of the Worker secret holding the app's client secret.
    pub client_secret_ref: String,
    /// Entra object id or UPN of the account that organises the meetings.
    pub organizer_user_id: String,
    #[serde(default = "default_login_base")]
    pub login_base: String,
    #[serde(default = "default_graph_base")]
    pub graph_base: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitsiSettings {
    /// e.g. `https://meet.example.org`
    pub base_url: String,
    pub app_id: String,
    /// Name of the Worker secret with the HS256 app secret.
    pub secret_ref: String,
}

fn default_login_base() -> String {
    "https://login.microsoftonline.com".into()
}

fn default_graph_base() -> String {
    "https://graph.microsoft.com".into()
}

impl VideoSettings {
    /// Problems with the settings as `(field, message)`; empty when usable.
    pub fn problems(&self, dev_mode: bool, allowed_hosts: &[String]) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if let VideoSettings::Teams(t) = self {
            use crate::providers::{endpoint_problem, Provider};
            for (field, provider, v) in
                [("video.login_base", Provider::EntraLogin, &t.login_base), ("video.graph_base", Provider::MicrosoftGraph, &t.graph_base)]
            {
                if let Some(why) = endpoint_problem(provider, v, dev_mode, allowed_hosts) {
                    out.push((field, why));
                }
            }
        }
        let mut url = |field: &'static str, v: &str| {
            if !is_acceptable_endpoint(v, dev_mode) || v.ends_with('/') {
                out.push((field, format!("{field} must be an https:// address without a trailing slash.")));
            }
        };
        match self {
            VideoSettings::Teams(t) => {
                url("video.login_base", &t.login_base);
                url("video.graph_base", &t.graph_base);
            }
            VideoSettings::Jitsi(j) => url("video.base_url", &j.base_url),
        }
        let (secret_field, secret) = match self {
            VideoSettings::Teams(t) => ("video.client_secret_ref", &t.client_secret_ref),
            VideoSettings::Jitsi(j) => ("video.secret_ref", &j.secret_ref),
        };
        if !crate::sms::is_secret_name(secret) {
            out.push((
                secret_field,
                "Name the secret (capital letters, digits, '_'; not one of Visitgate's own keys); never paste the secret itself here."
                    .into(),
            ));
        }
        out
    }
}

/// How a launch behaves for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchSettings {
    /// Write the meeting links into the Appointment's virtual meeting rooms.
    #[serde(default = "yes")]
    pub write_back: bool,
    /// After a clinician's first sign-in, go straight into the meeting.
    #[serde(default)]
    pub skip_provider_page: bool,
    /// Origins (`https://host[:port]`) of the EHR pages that may show the
    /// clinician's visit page in a frame; none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_ancestors: Vec<String>,
    /// Oracle's tracking board follows the virtual lobby: the appointment
    /// becomes `arrived` when the patient enters it and `checked-in` when the
    /// clinician admits them (Backend Services with Appointment write). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub patient_tracking: bool,
}

impl LaunchSettings {
    /// The first problem as `(field, message)`.
    pub fn problem(&self) -> Option<(String, String)> {
        if self.frame_ancestors.len() > 10 {
            return Some(("launch.frame_ancestors".into(), "List at most 10 EHR origins.".into()));
        }
        self.frame_ancestors.iter().enumerate().find(|(_, o)| !is_https_origin(o)).map(|(i, o)| {
            (
                format!("launch.frame_ancestors.{i}"),
                format!("{o} is not an origin: give https://host (and a port if needed), nothing more."),
            )
        })
    }
}

/// `https://host[:port]` and nothing else.
pub fn is_https_origin(o: &str) -> bool {
    url::Url::parse(o).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some_and(|h| h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
            && u.username().is_empty()
            && u.password().is_none()
            && u.path() == "/"
            && u.query().is_none()
            && u.fragment().is_none()
            && u.origin().ascii_serialization() == o
    })
}

fn yes() -> bool {
    true
}

impl Default for LaunchSettings {
    fn default() -> Self {
        LaunchSettings { write_back: true, skip_provider_page: false, frame_ancestors: vec![], patient_tracking: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_are_bare_https_origins() {
        assert!(is_https_origin("https://ehr.example.org") && is_https_origin("https://ehr.example.org:8443"));
        for bad in
            ["http://ehr.example.org", "https://ehr.example.org/", "https://ehr.example.org/path", "*", "https://*.example.org", "'self'"]
        {
            assert!(!is_https_origin(bad), "{bad}");
        }
        let l = LaunchSettings { frame_ancestors: vec!["https://ok.example".into(), "https://x.example/p".into()], ..Default::default() };
        assert_eq!(l.problem().map(|p| p.0).as_deref(), Some("launch.frame_ancestors.1"));
    }

    #[test]
    fn teams_defaults_to_microsoft_endpoints() {
        let v: VideoSettings = serde_json::from_str(
            r#"{"provider":"teams","entra_tenant_id":"t","client_id":"c","client_secret_ref":"TEAMS_SECRET","organizer_user_id":"u"}"#,
        )
        .unwrap();
        let VideoSettings::Teams(t) = &v else { panic!() };
        assert_eq!(t.graph_base, "https://graph.microsoft.com");
        assert!(v.problems(false, &[]).is_empty());
    }

    #[test]
    fn insecure_urls_and_pasted_secrets_are_refused() {
        let v = VideoSettings::Jitsi(JitsiSettings {
            base_url: "http://meet.example.org".into(),
            app_id: "a".into(),
            secret_ref: "my secret!".into(),
        });
        let fields: Vec<_> = v.problems(false, &[]).into_iter().map(|p| p.0).collect();
        assert_eq!(fields, ["video.base_url", "video.secret_ref"]);
        let own_key = VideoSettings::Jitsi(JitsiSettings {
            base_url: "https://meet.example.org".into(),
            app_id: "a".into(),
            secret_ref: "LAUNCH_COOKIE_KEY".into(),
        });
        assert_eq!(
            own_key.problems(false, &[]).into_iter().map(|p| p.0).collect::<Vec<_>>(),
            ["video.secret_ref"],
            "the gateway's own keys are not for tenants"
        );
        let launch: LaunchSettings = serde_json::from_str("{}").unwrap();
        assert!(launch.write_back && !launch.skip_provider_page);
    }
}
