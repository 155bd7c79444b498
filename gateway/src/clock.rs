//! Wall-clock time from the runtime (`Date.now()`), and the conversions
//! between Unix time and the ISO 8601 the EHR and the reports use. Logic
//! that depends on time takes `now` as an argument, so it tests on the host.

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub fn now_secs() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

pub fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

/// Unix seconds as ISO 8601 (UTC).
pub fn iso(secs: u64) -> String {
    String::from(js_sys::Date::new(&((secs * 1000) as f64).into()).to_iso_string())
}

/// ISO 8601 as Unix seconds.
pub fn secs(iso: &str) -> Option<u64> {
    iso_ms(iso).map(|ms| (ms / 1000) as u64)
}

/// ISO 8601 as Unix milliseconds.
pub fn iso_ms(iso: &str) -> Option<i64> {
    let t = js_sys::Date::parse(iso);
    (!t.is_nan()).then_some(t as i64)
}

/// Unix seconds as an RFC 1123 date (HTTP dates, ACS's repeatability).
pub fn rfc1123(secs: u64) -> String {
    String::from(js_sys::Date::new(&((secs * 1000) as f64).into()).to_utc_string())
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    now_iso()[..10].to_string()
}
