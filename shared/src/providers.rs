//! Where a tenant's providers may be. A tenant's settings name an address
//! and a secret together, so an address of the admin's choosing would
//! receive the secret: outside dev mode, each provider's address must be one
//! of that provider's own hosts, or a host a platform admin allowed for that
//! tenant (`Tenant::provider_hosts`).

use url::{Host, Url};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Twilio,
    /// Azure Communication Services (SMS, Email, Phone Numbers).
    Acs,
    SendGrid,
    /// Microsoft Entra ID's token endpoint (the Teams app's sign-in).
    EntraLogin,
    MicrosoftGraph,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Twilio => "Twilio",
            Provider::Acs => "Azure Communication Services",
            Provider::SendGrid => "SendGrid",
            Provider::EntraLogin => "Microsoft Entra ID",
            Provider::MicrosoftGraph => "Microsoft Graph",
        }
    }

    /// The provider's own hosts (public and sovereign clouds).
    pub fn is_own_host(self, host: &str) -> bool {
        match self {
            Provider::Twilio => host == "api.twilio.com",
            Provider::Acs => host.ends_with(".communication.azure.com") || host.ends_with(".communication.azure.us"),
            Provider::SendGrid => host == "api.sendgrid.com" || host == "api.eu.sendgrid.com",
            Provider::EntraLogin => {
                matches!(host, "login.microsoftonline.com" | "login.microsoftonline.us" | "login.partner.microsoftonline.cn")
            }
            Provider::MicrosoftGraph => {
                matches!(host, "graph.microsoft.com" | "graph.microsoft.us" | "dod-graph.microsoft.us" | "microsoftgraph.chinacloudapi.cn")
            }
        }
    }

    fn example(self) -> &'static str {
        match self {
            Provider::Twilio => "https://api.twilio.com",
            Provider::Acs => "https://<resource>.communication.azure.com",
            Provider::SendGrid => "https://api.sendgrid.com",
            Provider::EntraLogin => "https://login.microsoftonline.com",
            Provider::MicrosoftGraph => "https://graph.microsoft.com",
        }
    }
}

/// A host name as a platform admin allows it: lower-case DNS name, no
/// scheme, port or path.
pub fn is_host_name(h: &str) -> bool {
    let labels: Vec<&str> = h.split('.').collect();
    (3..=253).contains(&h.len())
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && !labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// Why `url` may not be used for `provider`, if it may not. In dev mode the
/// rule is only https (or http on loopback), as for every endpoint.
pub fn endpoint_problem(provider: Provider, url: &str, dev_mode: bool, allowed: &[String]) -> Option<String> {
    let https = Url::parse(url).is_ok_and(|u| u.scheme() == "https");
    if dev_mode || !https {
        return (!crate::fhir_url::is_acceptable_endpoint(url, dev_mode)).then(|| "The address must be https://.".into());
    }
    let parsed = Url::parse(url).ok()?;
    let host = match parsed.host() {
        Some(Host::Domain(d)) if crate::fhir_url::is_public_host(&parsed) => d.to_ascii_lowercase(),
        _ => {
            return Some(format!("Use {}'s own address ({}), not an IP address or an internal name.", provider.name(), provider.example()))
        }
    };
    if parsed.port().is_some() || !(parsed.path() == "/" || parsed.path().is_empty()) {
        return Some(format!("Give {}'s address without a port or path, like {}.", provider.name(), provider.example()));
    }
    if provider.is_own_host(&host) || allowed.contains(&host) {
        return None;
    }
    Some(format!(
        "{host} is not one of {}'s own addresses (like {}). A platform admin can allow another host for this organisation.",
        provider.name(),
        provider.example()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_providers_own_hosts_outside_dev_mode() {
        let p = |prov, url: &str, allowed: &[String]| endpoint_problem(prov, url, false, allowed);
        assert_eq!(p(Provider::Twilio, "https://api.twilio.com", &[]), None);
        assert!(p(Provider::Twilio, "https://evil.example", &[]).unwrap().contains("not one of Twilio's own"));
        assert_eq!(p(Provider::Twilio, "https://twilio-proxy.example.org", &["twilio-proxy.example.org".into()]), None);
        assert!(p(Provider::Twilio, "https://10.0.0.1", &[]).unwrap().contains("IP address"));
        assert!(p(Provider::Twilio, "https://api.twilio.com:8443", &[]).is_some());
        assert!(p(Provider::Twilio, "http://api.twilio.com", &[]).is_some());
        assert_eq!(p(Provider::Acs, "https://clinic.communication.azure.com", &[]), None);
        assert!(p(Provider::Acs, "https://communication.azure.com.evil.example", &[]).is_some());
        assert_eq!(p(Provider::EntraLogin, "https://login.microsoftonline.com", &[]), None);
        assert_eq!(p(Provider::MicrosoftGraph, "https://graph.microsoft.com", &[]), None);
        assert!(p(Provider::MicrosoftGraph, "https://graph.microsoft.com.evil.example", &[]).is_some());
        assert_eq!(p(Provider::SendGrid, "https://api.sendgrid.com", &[]), None);
        // Dev mode: the stand-ins on loopback.
        assert_eq!(endpoint_problem(Provider::Twilio, "http://127.0.0.1:8791", true, &[]), None);
    }

    #[test]
    fn allowed_hosts_are_plain_names() {
        assert!(is_host_name("twilio-proxy.example.org"));
        assert!(
            !is_host_name("https://x.example") && !is_host_name("X.example") && !is_host_name("10.0.0.1") && !is_host_name("localhost")
        );
        assert!(!is_host_name("a..b") && !is_host_name("-a.example"));
    }
}
