//! JSON values in a Durable Object's key-value storage, read and written as
//! text with serde_json. The runtime's own `get`/`put` convert through
//! serde-wasm-bindgen: a second deserializer per stored type in the wasm,
//! and one JS call per field.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use worker::durable::Storage;

use worker::{Error, Result};

pub async fn get<T: DeserializeOwned>(storage: &Storage, key: &str) -> Result<Option<T>> {
    let v = JsFuture::from(storage.as_raw().get(key)?).await?;
    if v.is_undefined() {
        return Ok(None);
    }
    decode(key, v).map(Some)
}

/// Several keys in one storage call, in the order asked; each to [`decode`].
pub async fn get_many<const N: usize>(storage: &Storage, keys: [&str; N]) -> Result<[Option<JsValue>; N]> {
    let map = storage.get_multiple(keys.to_vec()).await?;
    Ok(keys.map(|k| Some(map.get(&JsValue::from_str(k))).filter(|v| !v.is_undefined())))
}

pub fn decode_opt<T: DeserializeOwned>(key: &str, v: Option<JsValue>) -> Result<Option<T>> {
    v.map(|v| decode(key, v)).transpose()
}

pub async fn put<T: Serialize + ?Sized>(storage: &Storage, key: &str, value: &T) -> Result<()> {
    storage.put_raw(key, JsValue::from_str(&serde_json::to_string(value)?)).await
}

/// A stored value: JSON text, or (written before values were text) a
/// structured value, read through serde_json::Value.
pub fn decode<T: DeserializeOwned>(key: &str, v: JsValue) -> Result<T> {
    let text = match v.as_string() {
        Some(text) => text,
        None => serde_json::to_string(&serde_wasm_bindgen::from_value::<serde_json::Value>(v).map_err(|e| bad(key, &e.to_string()))?)?,
    };
    from_text(&text).map_err(|e| bad(key, &e.to_string()))
}

/// JSON text; or an old bare string (not JSON) stored for a string-typed value.
fn from_text<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_str(text).or_else(|e| serde_json::from_str(&serde_json::to_string(text)?).map_err(|_| e))
}

fn bad(key: &str, why: &str) -> Error {
    Error::RustError(format!("stored value {key}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_and_values_stored_before_it() {
        assert_eq!(from_text::<String>("\"abc\"").unwrap(), "abc");
        assert_eq!(from_text::<String>("abc").unwrap(), "abc", "an old bare string");
        assert_eq!(from_text::<String>("123").unwrap(), "123", "an old bare string that looks like a number");
        assert_eq!(from_text::<u64>("5").unwrap(), 5);
        assert_eq!(from_text::<Vec<u32>>("[1,2]").unwrap(), vec![1, 2]);
        assert!(from_text::<Vec<u32>>("nope").is_err());
        assert!(from_text::<u64>("\"5\"").is_err(), "no type is read as another");
    }
}
