//! Where the portal is, kept in the URL's fragment (`#/tenants/{id}/{section}`,
//! `/setup` for the wizard), so a reload or a shared link lands on the same
//! page. Replaced, not pushed: the app has no history of its own to go back
//! through.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    FhirBases,
    Sms,
    Video,
    Records,
    Audit,
    Reports,
    Tokens,
}

/// Each section: its tab label and its name in the address.
pub const SECTIONS: [(Section, &str, &str); 7] = [
    (Section::FhirBases, "FHIR bases", "fhir-bases"),
    (Section::Sms, "SMS", "sms"),
    (Section::Video, "Video", "video"),
    (Section::Records, "Review and finish", "records"),
    (Section::Audit, "Audit log", "audit"),
    (Section::Reports, "Reports", "reports"),
    (Section::Tokens, "API tokens", "tokens"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub tenant_id: String,
    pub section: Section,
    pub wizard: bool,
}

pub fn format(place: Option<&Place>) -> String {
    match place {
        None => "#/".into(),
        Some(p) => {
            let name = SECTIONS.iter().find(|(s, _, _)| *s == p.section).map(|(_, _, slug)| *slug).unwrap_or("fhir-bases");
            format!("#/tenants/{}/{name}{}", p.tenant_id, if p.wizard { "/setup" } else { "" })
        }
    }
}

pub fn parse(hash: &str) -> Option<Place> {
    let rest = hash.strip_prefix("#/tenants/")?;
    let mut parts = rest.split('/');
    let tenant_id = parts.next().filter(|id| shared::ids::is_valid_id(id))?.to_string();
    let section =
        parts.next().and_then(|n| SECTIONS.iter().find(|(_, _, slug)| *slug == n)).map(|(s, _, _)| *s).unwrap_or(Section::FhirBases);
    let wizard = parts.next() == Some("setup");
    Some(Place { tenant_id, section, wizard })
}

/// The current fragment.
pub fn current() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// Shows `place` in the address bar without a new history entry.
pub fn show(place: Option<&Place>) {
    let Some(w) = web_sys::window() else { return };
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format(place)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let p = Place { tenant_id: "demo".into(), section: Section::Sms, wizard: true };
        assert_eq!(format(Some(&p)), "#/tenants/demo/sms/setup");
        assert_eq!(parse(&format(Some(&p))), Some(p));
        assert_eq!(parse("#/tenants/demo"), Some(Place { tenant_id: "demo".into(), section: Section::FhirBases, wizard: false }));
        assert_eq!(parse("#/tenants/demo/reports").map(|p| p.section), Some(Section::Reports));
        assert_eq!(parse("#/tenants/Bad Id/sms"), None);
        assert_eq!(parse("#/"), None);
        assert_eq!(parse(""), None);
        assert_eq!(format(None), "#/");
    }
}
