//! WebCrypto (`crypto.subtle`), native code in workerd, for every signature
//! and for sealing: RSA and elliptic-curve arithmetic compiled to wasm was
//! most of the Worker's size, and is slower than the runtime's own.
//!
//! Reached through the global object (a Worker has no `window`). Imported
//! keys are cached per isolate, so a warm request imports nothing. The
//! rules around these calls (which key, which algorithm, which claims) live
//! with their callers and test on the host; this module only does the math.

use std::cell::RefCell;
use std::collections::HashMap;

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_namespace = crypto, js_name = subtle)]
    static SUBTLE: Subtle;

    type Subtle;

    /// A key held by the runtime; its material never comes back into wasm.
    #[wasm_bindgen(extends = Object)]
    #[derive(Clone, Debug)]
    pub type CryptoKey;

    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(this: &Subtle, format: &str, data: &JsValue, alg: &Object, extractable: bool, usages: &Array)
        -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = exportKey)]
    fn export_key(this: &Subtle, format: &str, key: &CryptoKey) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn verify(this: &Subtle, alg: &Object, key: &CryptoKey, signature: &[u8], data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sign(this: &Subtle, alg: &Object, key: &CryptoKey, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn encrypt(this: &Subtle, alg: &Object, key: &CryptoKey, data: &[u8]) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn decrypt(this: &Subtle, alg: &Object, key: &CryptoKey, data: &[u8]) -> Result<Promise, JsValue>;
}

/// What the runtime said when it refused (an unusable key, mostly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoError(pub String);

impl From<JsValue> for CryptoError {
    fn from(e: JsValue) -> Self {
        let text = Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()).or_else(|| e.as_string());
        CryptoError(text.unwrap_or_else(|| "WebCrypto refused".into()))
    }
}

/// The signature algorithms the gateway checks or makes (JWS names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigAlg {
    Rs256,
    Rs384,
    Es256,
    Es384,
    Hs256,
}

impl SigAlg {
    fn hash(self) -> &'static str {
        match self {
            SigAlg::Rs256 | SigAlg::Es256 | SigAlg::Hs256 => "SHA-256",
            SigAlg::Rs384 | SigAlg::Es384 => "SHA-384",
        }
    }

    /// Parameters for importKey.
    fn import_params(self) -> Object {
        match self {
            SigAlg::Rs256 | SigAlg::Rs384 => obj(&[("name", "RSASSA-PKCS1-v1_5".into()), ("hash", self.hash().into())]),
            SigAlg::Es256 => obj(&[("name", "ECDSA".into()), ("namedCurve", "P-256".into())]),
            SigAlg::Es384 => obj(&[("name", "ECDSA".into()), ("namedCurve", "P-384".into())]),
            SigAlg::Hs256 => obj(&[("name", "HMAC".into()), ("hash", "SHA-256".into())]),
        }
    }

    /// Parameters for sign / verify. ECDSA's signature is r ‖ s, as JWS wants (RFC 7518 §3.4).
    fn op_params(self) -> Object {
        match self {
            SigAlg::Rs256 | SigAlg::Rs384 => obj(&[("name", "RSASSA-PKCS1-v1_5".into())]),
            SigAlg::Es256 | SigAlg::Es384 => obj(&[("name", "ECDSA".into()), ("hash", self.hash().into())]),
            SigAlg::Hs256 => obj(&[("name", "HMAC".into())]),
        }
    }
}

fn obj(fields: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in fields {
        // Setting a property on a fresh plain object cannot fail.
        let _ = Reflect::set(&o, &JsValue::from_str(k), v);
    }
    o
}

fn usages(list: &[&str]) -> Array {
    list.iter().map(|u| JsValue::from_str(u)).collect()
}

async fn call(p: Result<Promise, JsValue>) -> Result<JsValue, CryptoError> {
    Ok(JsFuture::from(p?).await?)
}

fn bytes(v: &JsValue) -> Vec<u8> {
    Uint8Array::new(v).to_vec()
}

/// Per-isolate cache of imported keys. Bounded: keys come from a handful of
/// issuers and the gateway's own secrets; a rotation just adds one.
struct KeyCache(RefCell<HashMap<String, CryptoKey>>);

const CACHE_LIMIT: usize = 64;

impl KeyCache {
    fn get(&self, id: &str) -> Option<CryptoKey> {
        self.0.borrow().get(id).cloned()
    }

    fn put(&self, id: String, key: CryptoKey) {
        let mut map = self.0.borrow_mut();
        if map.len() >= CACHE_LIMIT {
            map.clear();
        }
        map.insert(id, key);
    }
}

thread_local! {
    static KEYS: KeyCache = KeyCache(RefCell::new(HashMap::new()));
}

async fn cached_import(id: String, import: impl FnOnce() -> Result<Promise, JsValue>) -> Result<CryptoKey, CryptoError> {
    if let Some(k) = KEYS.with(|c| c.get(&id)) {
        return Ok(k);
    }
    let key: CryptoKey = call(import()).await?.unchecked_into();
    KEYS.with(|c| c.put(id, key.clone()));
    Ok(key)
}

/// A public key as the JWK members WebCrypto needs (no `alg`, `use` or
/// `key_ops`: the caller has checked those against the token already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicJwk<'a> {
    Rsa { n: &'a str, e: &'a str },
    Ec { crv: &'a str, x: &'a str, y: &'a str },
}

impl PublicJwk<'_> {
    fn to_js(&self) -> JsValue {
        match self {
            PublicJwk::Rsa { n, e } => obj(&[("kty", "RSA".into()), ("n", (*n).into()), ("e", (*e).into())]).into(),
            PublicJwk::Ec { crv, x, y } => {
                obj(&[("kty", "EC".into()), ("crv", (*crv).into()), ("x", (*x).into()), ("y", (*y).into())]).into()
            }
        }
    }

    fn id(&self, alg: SigAlg) -> String {
        match self {
            PublicJwk::Rsa { n, e } => format!("{alg:?}|{e}|{n}"),
            PublicJwk::Ec { crv, x, y } => format!("{alg:?}|{crv}|{x}|{y}"),
        }
    }
}

/// Checks `signature` over `message` with a public key (RS256/384, ES256/384).
/// `Ok(false)` is a bad signature; `Err` is a key the runtime would not take.
pub async fn verify(alg: SigAlg, jwk: &PublicJwk<'_>, message: &[u8], signature: &[u8]) -> Result<bool, CryptoError> {
    let key = cached_import(jwk.id(alg), || {
        SUBTLE.with(|s| s.import_key("jwk", &jwk.to_js(), &alg.import_params(), false, &usages(&["verify"])))
    })
    .await?;
    let ok = call(SUBTLE.with(|s| s.verify(&alg.op_params(), &key, signature, message))).await?;
    Ok(ok.as_bool() == Some(true))
}

/// The gateway's own ES384 signing key, imported from PKCS#8 DER; `x` and
/// `y` are its public point (base64url), for the published JWK.
#[derive(Clone)]
pub struct EcSigningKey {
    key: CryptoKey,
    pub x: String,
    pub y: String,
}

impl std::fmt::Debug for EcSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EcSigningKey {{ x: {}, private: [redacted] }}", self.x)
    }
}

pub async fn import_p384_pkcs8(der: &[u8]) -> Result<EcSigningKey, CryptoError> {
    let params = SigAlg::Es384.import_params();
    // Imported once extractable, only to read the public point, then again
    // for signing with nothing exportable.
    let data: JsValue = Uint8Array::from(der).into();
    let full: CryptoKey = call(SUBTLE.with(|s| s.import_key("pkcs8", &data, &params, true, &usages(&["sign"])))).await?.unchecked_into();
    let jwk = call(SUBTLE.with(|s| s.export_key("jwk", &full))).await?;
    let member =
        |name: &str| Reflect::get(&jwk, &name.into()).ok().and_then(|v| v.as_string()).ok_or_else(|| CryptoError(format!("no {name}")));
    let (x, y) = (member("x")?, member("y")?);
    let key: CryptoKey = call(SUBTLE.with(|s| s.import_key("pkcs8", &data, &params, false, &usages(&["sign"])))).await?.unchecked_into();
    Ok(EcSigningKey { key, x, y })
}

/// ES384 signature (r ‖ s, 96 bytes).
pub async fn sign_es384(key: &EcSigningKey, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(bytes(&call(SUBTLE.with(|s| s.sign(&SigAlg::Es384.op_params(), &key.key, message))).await?))
}

/// HMAC-SHA256 with a key the caller holds (a Jitsi app secret); the
/// imported key is cached under a hash of the secret, never the secret.
pub async fn hmac_sha256(secret: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let id = format!("hmac|{}", crate::crypto::sha256_hex_bytes(secret));
    let data: JsValue = Uint8Array::from(secret).into();
    let key = cached_import(id, || SUBTLE.with(|s| s.import_key("raw", &data, &SigAlg::Hs256.import_params(), false, &usages(&["sign"]))))
        .await?;
    Ok(bytes(&call(SUBTLE.with(|s| s.sign(&SigAlg::Hs256.op_params(), &key, message))).await?))
}

async fn aes_key(raw: &[u8; 32]) -> Result<CryptoKey, CryptoError> {
    let id = format!("aes|{}", crate::crypto::sha256_hex_bytes(raw));
    let data: JsValue = Uint8Array::from(&raw[..]).into();
    let params = obj(&[("name", "AES-GCM".into())]);
    cached_import(id, || SUBTLE.with(|s| s.import_key("raw", &data, &params, false, &usages(&["encrypt", "decrypt"])))).await
}

fn gcm(iv: &[u8; 12], aad: &[u8]) -> Object {
    obj(&[("name", "AES-GCM".into()), ("iv", Uint8Array::from(&iv[..]).into()), ("additionalData", Uint8Array::from(aad).into())])
}

/// AES-256-GCM: ciphertext ‖ 16-byte tag (the same layout as RustCrypto's,
/// so values sealed before WebCrypto still open).
pub async fn aes_gcm_seal(raw: &[u8; 32], iv: &[u8; 12], aad: &[u8], plain: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = aes_key(raw).await?;
    Ok(bytes(&call(SUBTLE.with(|s| s.encrypt(&gcm(iv, aad), &key, plain))).await?))
}

/// `None` when the tag does not verify (altered, another key or purpose).
pub async fn aes_gcm_open(raw: &[u8; 32], iv: &[u8; 12], aad: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
    let key = aes_key(raw).await?;
    match SUBTLE.with(|s| s.decrypt(&gcm(iv, aad), &key, sealed)) {
        Ok(p) => Ok(JsFuture::from(p).await.ok().map(|v| bytes(&v))),
        Err(e) => Err(e.into()),
    }
}
