//! CPU cost of the gateway's hot paths, natively (`make bench` prints the
//! figures; nothing here passes or fails on time). These are the parts of a
//! request's CPU budget the gateway itself controls. Signatures and sealing
//! run in WebCrypto inside the Worker (bench.mjs measures them there); the
//! native RS256 figure here is the pure-Rust reference they replaced.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gateway::launch::authorize_url;
use gateway::launch::state::LaunchState;
use gateway::oidc::id_token;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use shared::patient_link::{is_code, negotiate, text, PatientLink};

const PEM: &str = include_str!("../tests/keys/test-rsa.pem");
const N: &str = include_str!("../tests/keys/test-rsa.n");
const ISS: &str = "https://fhir-ehr.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d";
const NOW: u64 = 1_800_000_000;

fn launch_state() -> LaunchState {
    LaunchState {
        state: "s".repeat(43),
        nonce: "n".repeat(43),
        code_verifier: "v".repeat(43),
        iss: ISS.into(),
        tenant_id: "demo".into(),
        base_id: "fb-1a2b3c".into(),
        expires_at: NOW + 600,
    }
}

fn hot_paths(c: &mut Criterion) {
    // GET /j/{code}: the code check, the KV value read, the expiry check.
    let link_json = serde_json::to_string(&PatientLink {
        visit_ref: "v".repeat(64),
        tenant_id: "demo".into(),
        base_id: "fb-1a2b3c".into(),
        start: Some("2026-12-02T09:30:00Z".into()),
        expires_at: NOW + 7200,
        clinic_phone: Some("+18165550100".into()),
        revoked: false,
    })
    .unwrap();
    c.bench_function("resolve_link_code", |b| {
        b.iter(|| {
            let code = black_box("AbCdEf123456");
            assert!(is_code(code));
            let link: PatientLink = serde_json::from_str(black_box(&link_json)).unwrap();
            black_box(!link.revoked && link.expires_at > NOW)
        })
    });

    // GET /launch/callback: the id_token (RS256, 2048-bit). The Worker checks the
    // signature in WebCrypto; this is the same check in pure Rust (RustCrypto's
    // rsa, as the gateway did before), the reference figure.
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let claims = serde_json::json!({"iss": ISS, "sub": "p1", "aud": "client-1", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        "fhirUser": format!("{ISS}/Practitioner/593923")});
    let token = encode(&h, &claims, &EncodingKey::from_rsa_pem(PEM.as_bytes()).unwrap()).unwrap();
    let key = DecodingKey::from_rsa_components(N.trim(), "AQAB").unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    let expect = id_token::Expect { issuer: ISS, client_id: "client-1", nonce: "n-1", now: NOW, fhir_user: true };
    c.bench_function("validate_id_token_rs256_pure_rust", |b| {
        b.iter(|| {
            decode::<serde_json::Value>(black_box(&token), &key, &v).unwrap();
            id_token::check(black_box(&token), expect).unwrap()
        })
    });
    // The part that stays in wasm: header, key choice, claims.
    let keys: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(serde_json::json!({"keys": [{"kty": "RSA", "n": N.trim(), "e": "AQAB", "alg": "RS256", "kid": "k1"}]}))
            .unwrap();
    c.bench_function("id_token_rules_without_signature", |b| {
        b.iter(|| {
            let c = gateway::oidc::jws::split(black_box(&token)).unwrap();
            gateway::oidc::jws::key_for(&keys, &c.header, c.alg).unwrap();
            id_token::check(black_box(&token), expect).unwrap()
        })
    });

    // GET /launch: the authorize URL (with the PKCE S256 challenge) and the sealed state cookie.
    let state = launch_state();
    let scope = shared::smart::provider_scopes(&["launch-ehr".into(), "permission-v2".into()], true);
    c.bench_function("build_authorize_url", |b| {
        b.iter(|| {
            let url = authorize_url(
                "https://authorization.cerner.com/tenants/ec2458f2/protocols/oauth2/profiles/smart-v1/personas/provider/authorize",
                "client-1",
                "https://visits.example.org/launch/callback",
                black_box("f5b0e2a8-launch"),
                &scope,
                &state,
                ISS,
            );
            black_box(url)
        })
    });
    c.bench_function("launch_state_json", |b| b.iter(|| serde_json::to_vec(black_box(&state)).unwrap()));

    // GET /j/{code}: the patient's page.
    let link: PatientLink = serde_json::from_str(&link_json).unwrap();
    let lang = negotiate("de-DE,de;q=0.9,en;q=0.8");
    c.bench_function("render_patient_page", |b| b.iter(|| gateway::patient::page::patient_page(lang, text(lang), black_box(&link))));
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
