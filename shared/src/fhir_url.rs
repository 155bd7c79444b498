//! The one place where FHIR base URLs (the SMART `iss`) are normalised.
//!
//! Configuration and launch both call [`normalize_fhir_base`], so the string
//! an admin saves and the `iss` an EHR sends compare equal byte for byte.

use url::{Host, Url};

/// KV keys are at most 512 bytes; leave room for the key prefix.
pub const MAX_URL_LEN: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlProblem {
    Empty,
    TooLong,
    NotAUrl,
    NotHttps,
    HttpOnlyForLoopbackInDev,
    HasQuery,
    HasFragment,
    HasCredentials,
    /// An IP address, or a name that only means something inside a network.
    NotAPublicHost,
}

impl UrlProblem {
    pub fn code(&self) -> &'static str {
        match self {
            UrlProblem::Empty => "url_empty",
            UrlProblem::TooLong => "url_too_long",
            UrlProblem::NotAUrl => "url_invalid",
            UrlProblem::NotHttps => "url_not_https",
            UrlProblem::HttpOnlyForLoopbackInDev => "url_http_not_allowed",
            UrlProblem::HasQuery => "url_has_query",
            UrlProblem::HasFragment => "url_has_fragment",
            UrlProblem::HasCredentials => "url_has_credentials",
            UrlProblem::NotAPublicHost => "url_not_public",
        }
    }

    pub fn message(&self) -> String {
        match self {
            UrlProblem::Empty => "Enter the FHIR base URL.".into(),
            UrlProblem::TooLong => format!("The URL is longer than {MAX_URL_LEN} characters."),
            UrlProblem::NotAUrl => {
                "This is not a valid URL. It should look like https://fhir.example.org/r4/<tenant-id> (an internationalised host name in its ASCII xn-- form).".into()
            }
            UrlProblem::NotHttps => "The FHIR base URL must start with https://.".into(),
            UrlProblem::HttpOnlyForLoopbackInDev => {
                "Plain http:// is only allowed for 127.0.0.1 or localhost in dev mode; use https://.".into()
            }
            UrlProblem::HasQuery => "Remove the query (the part from '?'): a FHIR base URL has none.".into(),
            UrlProblem::HasFragment => "Remove the fragment (the part from '#'): a FHIR base URL has none.".into(),
            UrlProblem::HasCredentials => "Remove the user name or password from the URL.".into(),
            UrlProblem::NotAPublicHost => {
                "Use the server's public host name: IP addresses and local or internal names (localhost, .local, .internal) are not allowed.".into()
            }
        }
    }
}

/// Normalises a FHIR base URL: https only (http only for loopback when
/// `dev_mode`), no query, fragment or credentials, lowercase scheme and host,
/// default port dropped, no trailing slash.
pub fn normalize_fhir_base(input: &str, dev_mode: bool) -> Result<String, UrlProblem> {
    let input = input.trim();
    if input.is_empty() {
        return Err(UrlProblem::Empty);
    }
    if input.len() > MAX_URL_LEN {
        return Err(UrlProblem::TooLong);
    }
    let url = parse_ascii(input).ok_or(UrlProblem::NotAUrl)?;
    match url.scheme() {
        "https" => {}
        "http" if dev_mode && is_loopback(&url) => {}
        "http" if dev_mode => return Err(UrlProblem::HttpOnlyForLoopbackInDev),
        "http" => return Err(UrlProblem::NotHttps),
        _ => return Err(UrlProblem::NotAUrl),
    }
    if url.host().is_none() {
        return Err(UrlProblem::NotAUrl);
    }
    if !dev_mode && !is_public_host(&url) {
        return Err(UrlProblem::NotAPublicHost);
    }
    if url.query().is_some() {
        return Err(UrlProblem::HasQuery);
    }
    if url.fragment().is_some() {
        return Err(UrlProblem::HasFragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::HasCredentials);
    }
    // `Url` already lowercases scheme and host and drops a default port.
    let mut out = url.as_str().to_string();
    while out.ends_with('/') {
        out.pop();
    }
    if out.len() > MAX_URL_LEN {
        return Err(UrlProblem::TooLong);
    }
    Ok(out)
}

/// A URL whose scheme and authority are ASCII (an internationalised host in
/// its `xn--` form). The `url` crate is built without Unicode tables (see
/// README), so a non-ASCII host is refused here rather than half-mapped;
/// found by `make fuzz` (fuzz/seeds/iss/crash-*).
pub fn parse_ascii(input: &str) -> Option<Url> {
    // Only http(s) is ever wanted; the authority is what follows the
    // scheme and any slashes (the parser skips extra ones), up to the path.
    // The parser drops tabs and line breaks anywhere: none may hide a host.
    if input.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (scheme, rest) = input.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let rest = rest.trim_start_matches(['/', '\\']);
    let authority = &rest[..rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len())];
    // Nor percent-encoded: `%9e` in a host decodes to non-ASCII too.
    if !authority.is_ascii() || authority.contains('%') {
        return None;
    }
    Url::parse(input).ok()
}

/// Whether a URL an EHR advertises (authorize, token, jwks) is acceptable:
/// https, or loopback http in dev mode.
pub fn is_acceptable_endpoint(url: &str, dev_mode: bool) -> bool {
    match parse_ascii(url) {
        Some(u) if dev_mode => u.scheme() == "https" || (u.scheme() == "http" && is_loopback(&u)),
        Some(u) => u.scheme() == "https" && is_public_host(&u),
        None => false,
    }
}

/// Outside dev mode the gateway only calls hosts on the public internet by
/// name: never an IP literal (loopback, private, link-local such as
/// 169.254.169.254, or any other) and never a name that only resolves inside
/// a network. Names that resolve to private addresses are the resolver's
/// business: Workers cannot look them up, and Cloudflare does not route
/// subrequests into private networks.
pub fn is_public_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            let internal = ["localhost", "local", "internal", "localdomain", "home.arpa", "intranet", "lan", "corp"];
            d.contains('.')
                && !internal.iter().any(|s| d == *s || d.ends_with(&format!(".{s}")))
                && !d.ends_with(".arpa")
                && !d.split('.').next_back().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        }
        _ => false,
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_dev_mode_only_public_host_names() {
        for bad in [
            "https://10.0.0.5/r4/t",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/r4",
            "https://[fd00::1]/r4",
            "https://127.0.0.1/r4",
            "https://8.8.8.8/r4",
            "https://localhost/r4",
            "https://metadata.google.internal/r4",
            "https://printer.local/r4",
            "https://intranet/r4",
            "https://2130706433/r4",
        ] {
            assert_eq!(normalize_fhir_base(bad, false), Err(UrlProblem::NotAPublicHost), "{bad}");
            assert!(!is_acceptable_endpoint(bad, false), "{bad}");
        }
        assert!(normalize_fhir_base("https://fhir-ehr.cerner.com/r4/ec2458f2", false).is_ok());
        assert!(is_acceptable_endpoint("https://authorization.cerner.com/tenants/x/token", false));
        // Dev mode: the stand-ins on loopback.
        assert!(normalize_fhir_base("http://127.0.0.1:8790/r4/good", true).is_ok());
    }

    fn ok(input: &str) -> String {
        normalize_fhir_base(input, false).unwrap()
    }

    #[test]
    fn lowercases_scheme_and_host_keeps_path_case() {
        assert_eq!(ok("HTTPS://FHIR-EHR-Code.Cerner.COM/r4/EC2458f2"), "https://fhir-ehr-code.cerner.com/r4/EC2458f2");
    }

    #[test]
    fn drops_default_port_keeps_others() {
        assert_eq!(ok("https://ehr.example.org:443/r4"), "https://ehr.example.org/r4");
        assert_eq!(ok("https://ehr.example.org:8443/r4"), "https://ehr.example.org:8443/r4");
    }

    #[test]
    fn strips_trailing_slashes() {
        assert_eq!(ok("https://ehr.example.org/r4/abc/"), "https://ehr.example.org/r4/abc");
        assert_eq!(ok("https://ehr.example.org/r4/abc//"), "https://ehr.example.org/r4/abc");
        assert_eq!(ok("https://ehr.example.org/"), "https://ehr.example.org");
        assert_eq!(ok("  https://ehr.example.org/r4  "), "https://ehr.example.org/r4");
    }

    #[test]
    fn same_iss_spelled_differently_normalises_equal() {
        let a = ok("https://EHR.example.org:443/r4/t1/");
        let b = ok("https://ehr.example.org/r4/t1");
        assert_eq!(a, b);
    }

    #[test]
    fn refuses_http_outside_dev_and_non_loopback_in_dev() {
        assert_eq!(normalize_fhir_base("http://ehr.example.org/r4", false), Err(UrlProblem::NotHttps));
        assert_eq!(normalize_fhir_base("http://ehr.example.org/r4", true), Err(UrlProblem::HttpOnlyForLoopbackInDev));
        assert_eq!(normalize_fhir_base("http://127.0.0.1:8790/r4", false), Err(UrlProblem::NotHttps));
        assert_eq!(normalize_fhir_base("http://127.0.0.1:8790/r4/", true).unwrap(), "http://127.0.0.1:8790/r4");
        assert_eq!(normalize_fhir_base("http://LOCALHOST:8790/r4", true).unwrap(), "http://localhost:8790/r4");
        assert!(normalize_fhir_base("http://[::1]:8790/r4", true).is_ok());
    }

    #[test]
    fn refuses_query_fragment_credentials_and_junk() {
        assert_eq!(normalize_fhir_base("https://e.org/r4?x=1", false), Err(UrlProblem::HasQuery));
        assert_eq!(normalize_fhir_base("https://e.org/r4?", false), Err(UrlProblem::HasQuery));
        assert_eq!(normalize_fhir_base("https://e.org/r4#a", false), Err(UrlProblem::HasFragment));
        assert_eq!(normalize_fhir_base("https://u:p@e.org/r4", false), Err(UrlProblem::HasCredentials));
        assert_eq!(normalize_fhir_base("", false), Err(UrlProblem::Empty));
        assert_eq!(normalize_fhir_base("not a url", false), Err(UrlProblem::NotAUrl));
        assert_eq!(normalize_fhir_base("ftp://e.org/r4", false), Err(UrlProblem::NotAUrl));
        assert_eq!(normalize_fhir_base("javascript:alert(1)", false), Err(UrlProblem::NotAUrl));
        // The lock file pins idna_adapter 1.0 (no Unicode tables: a smaller Worker), so an
        // internationalised host must be given in its ASCII (punycode) form.
        assert_eq!(normalize_fhir_base("https://bücher.example/r4", false), Err(UrlProblem::NotAUrl));
        assert!(normalize_fhir_base("https://xn--bcher-kva.example/r4", false).is_ok());
        let long = format!("https://e.org/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(normalize_fhir_base(&long, false), Err(UrlProblem::TooLong));
    }

    #[test]
    fn endpoint_rule_matches_base_rule() {
        assert!(is_acceptable_endpoint("https://auth.example.org/token", false));
        assert!(!is_acceptable_endpoint("http://auth.example.org/token", true));
        assert!(is_acceptable_endpoint("http://127.0.0.1:8790/token", true));
        assert!(!is_acceptable_endpoint("http://127.0.0.1:8790/token", false));
        assert!(!is_acceptable_endpoint("nonsense", true));
    }

    #[test]
    fn non_ascii_hosts_are_refused_not_half_mapped() {
        // The input make fuzz found (iss target): a debug assertion in idna_adapter.
        let crash = "https://xn--bcheH\u{e0}TTPS:o*Fhir-r-ekxa\0O";
        assert_eq!(normalize_fhir_base(crash, false), Err(UrlProblem::NotAUrl));
        assert_eq!(normalize_fhir_base("https://b\u{fc}cher.example/r4", false), Err(UrlProblem::NotAUrl));
        assert!(!is_acceptable_endpoint("https://\u{e9}.example/token", false));
        // The second: percent-encoded non-ASCII in the host, the rest ASCII.
        assert_eq!(normalize_fhir_base("HTTPS:/f7583dO%9e\0\0", false), Err(UrlProblem::NotAUrl));
        assert_eq!(normalize_fhir_base("https://b%C3%BCcher.example/r4", true), Err(UrlProblem::NotAUrl));
        // Non-ASCII after the host is the path's business (percent-encoded).
        assert!(normalize_fhir_base("https://fhir.example/r4/\u{e9}", false).is_ok());
        assert!(normalize_fhir_base("https://fhir.example/r4/a%20b", false).is_ok());
        // The fourth: line breaks inside the host, which the parser drops.
        assert_eq!(normalize_fhir_base("https://\r\r/\rF%E2%E\r.https:Um", true), Err(UrlProblem::NotAUrl));
        // The third: extra slashes before a non-ASCII host.
        assert_eq!(normalize_fhir_base("http:///bbbb2E\u{3cf}ps:/", true), Err(UrlProblem::NotAUrl));
    }
}
