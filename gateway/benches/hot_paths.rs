//! CPU cost of the gateway's hot paths, natively (`make bench` prints the
//! figures; nothing here passes or fails on time). These are the parts of a
//! request's CPU budget the gateway itself controls.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use gateway::launch::authorize_url;
use gateway::launch::state::{LaunchState, PURPOSE as LAUNCH_PURPOSE};
use gateway::oidc::id_token;
use gateway::seal::{open, seal, SealKey};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
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

    // GET /launch/callback: open the sealed launch cookie.
    let key = SealKey::parse(&"ab".repeat(32)).unwrap();
    let sealed = seal(&key, LAUNCH_PURPOSE, &launch_state(), [7; 12]);
    c.bench_function("unseal_launch_cookie", |b| b.iter(|| open::<LaunchState>(&key, LAUNCH_PURPOSE, black_box(&sealed), NOW).unwrap()));

    // GET /launch/callback: the id_token (RS256, 2048-bit) against the EHR's JWKS.
    let keys: JwkSet =
        serde_json::from_value(serde_json::json!({"keys": [{"kty": "RSA", "n": N.trim(), "e": "AQAB", "alg": "RS256", "kid": "k1"}]}))
            .unwrap();
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("k1".into());
    let claims = serde_json::json!({"iss": ISS, "sub": "p1", "aud": "client-1", "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        "fhirUser": format!("{ISS}/Practitioner/593923")});
    let token = encode(&h, &claims, &EncodingKey::from_rsa_pem(PEM.as_bytes()).unwrap()).unwrap();
    c.bench_function("validate_id_token_rs256", |b| {
        b.iter(|| id_token::verify(black_box(&token), &keys, ISS, "client-1", "n-1", NOW).unwrap())
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
    c.bench_function("seal_launch_cookie", |b| b.iter(|| seal(&key, LAUNCH_PURPOSE, black_box(&state), [7; 12])));

    // GET /j/{code}: the patient's page.
    let link: PatientLink = serde_json::from_str(&link_json).unwrap();
    let lang = negotiate("de-DE,de;q=0.9,en;q=0.8");
    c.bench_function("render_patient_page", |b| b.iter(|| gateway::patient::page::patient_page(lang, text(lang), black_box(&link))));
}

criterion_group!(benches, hot_paths);
criterion_main!(benches);
