//! FHIR Appointment and Patient JSON from the EHR, and discovery bodies judged by validation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared::tenant::ClientAuthMethod;
use shared::validation::{evaluate, Fetched};

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = shared::appointment::parse(&v);
        if let Some(m) = shared::sms::mobile_number(&v) {
            assert!(shared::sms::is_e164(&m), "{m}");
        }
        let _ = shared::sms::patient_language(&v);
        let _ = shared::email::patient_email(&v);
    }
    let body = String::from_utf8_lossy(data).into_owned();
    let mut mid = body.len() / 2;
    while !body.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, b) = body.split_at(mid);
    let json = |b: &str| Fetched::Response { status: 200, content_type: Some("application/json".into()), body: b.to_string() };
    let report = evaluate("https://fhir.example/r4", ClientAuthMethod::PrivateKeyJwt, false, &json(a), &json(b), "2026-01-01T00:00:00Z");
    if report.ok {
        assert!(report.findings.iter().all(|f| f.severity != shared::validation::Severity::Error));
    }
});
