//! Patient link codes, webhook status paths, ids and ETags as they arrive in URLs and headers.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if shared::patient_link::is_code(s) {
        assert!(s.len() == 12 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "code {s:?}");
    }
    if let Ok((a, b)) = gateway::sms::webhooks::status_path(s) {
        assert!(s.contains(a) && s.contains(b));
    }
    if shared::ids::is_valid_id(s) {
        assert!(!s.contains('/') && !s.contains(".."), "id {s:?}");
    }
    if let Some(v) = shared::tenant::parse_etag(s) {
        assert_eq!(shared::tenant::parse_etag(&shared::tenant::etag(v)), Some(v));
    }
});
