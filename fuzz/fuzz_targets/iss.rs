//! `iss` / FHIR base normalisation: never panics, is idempotent, and outside
//! dev mode only ever yields https URLs of public host names.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shared::fhir_url::{is_public_host, normalize_fhir_base};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    for dev in [false, true] {
        if let Ok(n) = normalize_fhir_base(s, dev) {
            assert_eq!(normalize_fhir_base(&n, dev).as_deref(), Ok(n.as_str()), "not idempotent: {s:?}");
            let _ = shared::kv_keys::iss(&n);
            if !dev {
                let u = url::Url::parse(&n).expect("normalised URLs parse");
                assert_eq!(u.scheme(), "https", "{n}");
                assert!(is_public_host(&u), "private host accepted outside dev mode: {n}");
            }
        }
    }
});
