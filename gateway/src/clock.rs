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

/// Whether the runtime knows `tz` as an IANA time zone (`Europe/Berlin`):
/// asked of `Intl.DateTimeFormat`, which refuses unknown zones with a
/// RangeError (caught here, never thrown on).
pub fn is_time_zone(tz: &str) -> bool {
    if tz.is_empty() || tz.len() > 64 || tz.trim() != tz {
        return false;
    }
    let opts = js_sys::Object::new();
    if js_sys::Reflect::set(&opts, &"timeZone".into(), &tz.into()).is_err() {
        return false;
    }
    use wasm_bindgen::JsCast;
    let Some(ctor) = js_sys::Reflect::get(&js_sys::global(), &"Intl".into())
        .and_then(|intl| js_sys::Reflect::get(&intl, &"DateTimeFormat".into()))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return false;
    };
    js_sys::Reflect::construct(&ctor, &js_sys::Array::of2(&"en".into(), &opts)).is_ok()
}
