//! Tenant, SMS, email, video, retention and FHIR base settings as a tenant admin may send them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let hosts = ["sms.example".to_string()];
    if let Ok(u) = serde_json::from_slice::<shared::api::TenantUpdate>(data) {
        if let Some(v) = &u.video {
            let _ = v.problems(false, &hosts);
        }
        if let Some(l) = &u.launch {
            let _ = l.problem();
        }
        if let Some(r) = &u.retention {
            if r.problem().is_none() {
                assert!(r.visit_expires_ms(Some(0), 0) > 0);
            }
        }
    }
    if let Ok(s) = serde_json::from_slice::<shared::sms::SmsSettings>(data) {
        let _ = s.problems(&["fb-1"], false, &hosts);
    }
    if let Ok(e) = serde_json::from_slice::<shared::email::EmailSettings>(data) {
        let _ = e.problems(false, &hosts);
    }
    let _ = serde_json::from_slice::<shared::api::FhirBaseInput>(data);
    let _ = serde_json::from_slice::<shared::api::NewTenant>(data);
    // A stored document: what is read is written back unchanged.
    if let Ok(t) = serde_json::from_slice::<shared::tenant::Tenant>(data) {
        let again: shared::tenant::Tenant = serde_json::from_value(serde_json::to_value(&t).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), serde_json::to_value(&t).unwrap());
    }
});
