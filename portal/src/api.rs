//! Every HTTP call the portal makes, and nothing else.
//!
//! The admin API is served by the same origin as the portal, so requests use
//! relative paths and send the session cookie (`credentials: same-origin`).
//! Mutating calls carry the CSRF token from `GET /api/v1/me` in
//! `X-CSRF-Token`.

use gloo_net::http::{RequestBuilder, Response};
use serde::de::DeserializeOwned;
use shared::api::{ApiError, Me, TenantList};
use shared::tenant::Tenant;
use web_sys::RequestCredentials;

const ME: &str = "/api/v1/me";
const LOGOUT: &str = "/api/v1/logout";
const TENANTS: &str = "/api/v1/tenants";

/// A call that did not give the portal what it asked for, in the words the
/// page shows: a sentence for a person and a short `code` they can quote to
/// support. API errors keep the gateway's own code; failures that never
/// reached the API get codes of their own (`network_error`, `http_<status>`,
/// `bad_response`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: String,
    pub message: String,
}

impl Failure {
    fn network(err: gloo_net::Error) -> Self {
        Failure {
            code: "network_error".into(),
            message: format!("Could not reach the Visitgate server ({err}). Check your connection and try again."),
        }
    }

    /// A non-success answer: the API's own `ApiError` when the body is one,
    /// otherwise a code made from the status (e.g. a proxy's HTML 502 page).
    pub fn from_response(status: u16, status_text: &str, body: &str) -> Self {
        match serde_json::from_str::<ApiError>(body) {
            Ok(e) => Failure { code: e.code, message: e.message },
            Err(_) => {
                let text = if status_text.is_empty() { String::new() } else { format!(" {status_text}") };
                Failure {
                    code: format!("http_{status}"),
                    message: format!("The server answered {status}{text} instead of an API response."),
                }
            }
        }
    }

    /// A success status whose body is not what this portal version expects.
    pub fn bad_body(err: &serde_json::Error) -> Self {
        Failure {
            code: "bad_response".into(),
            message: format!("The server's answer could not be read ({err}). Reload the page; the portal may be out of date."),
        }
    }
}

/// Parses a success body (kept apart from the fetch so it can be tested on the host).
pub fn parse_body<T: DeserializeOwned>(body: &str) -> Result<T, Failure> {
    serde_json::from_str(body).map_err(|e| Failure::bad_body(&e))
}

fn request(builder: RequestBuilder) -> RequestBuilder {
    builder.credentials(RequestCredentials::SameOrigin).header("Accept", "application/json")
}

async fn body_text(resp: &Response) -> Result<String, Failure> {
    resp.text().await.map_err(Failure::network)
}

async fn failure(resp: Response) -> Failure {
    let body = resp.text().await.unwrap_or_default();
    Failure::from_response(resp.status(), &resp.status_text(), &body)
}

async fn read_json<T: DeserializeOwned>(resp: Response) -> Result<T, Failure> {
    if resp.ok() {
        parse_body(&body_text(&resp).await?)
    } else {
        Err(failure(resp).await)
    }
}

/// `GET /api/v1/me`: `Ok(None)` when nobody is signed in (401).
pub async fn me() -> Result<Option<Me>, Failure> {
    let resp = request(gloo_net::http::Request::get(ME)).send().await.map_err(Failure::network)?;
    if resp.status() == 401 {
        return Ok(None);
    }
    read_json(resp).await.map(Some)
}

/// `POST /api/v1/logout`. A 401 means the session is already gone, which is
/// what the caller wanted.
pub async fn logout(csrf_token: Option<String>) -> Result<(), Failure> {
    let mut builder = request(gloo_net::http::Request::post(LOGOUT));
    if let Some(token) = &csrf_token {
        builder = builder.header("X-CSRF-Token", token);
    }
    let resp = builder.send().await.map_err(Failure::network)?;
    if resp.ok() || resp.status() == 401 {
        Ok(())
    } else {
        Err(failure(resp).await)
    }
}

/// `GET /api/v1/tenants`: the tenants the caller may see.
pub async fn tenants() -> Result<Vec<Tenant>, Failure> {
    let resp = request(gloo_net::http::Request::get(TENANTS)).send().await.map_err(Failure::network)?;
    read_json::<TenantList>(resp).await.map(|l| l.tenants)
}

/// The CSRF token of the signed-in session, provided to every view that writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrf(pub Option<String>);

/// Whether the signed-in admin is a platform admin (approves FHIR bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform(pub bool);

/// What a save answered: the tenant as stored now, or why not.
#[derive(Debug, Clone, PartialEq)]
pub enum Saved {
    Ok(Box<Tenant>),
    /// Someone else saved first (409): their version.
    Conflict(Box<Tenant>),
    /// The FHIR base failed validation (422): the report.
    Invalid(Box<shared::validation::ValidationReport>, Failure),
    Failed(Failure, Option<String>),
}

async fn send_write(method: &str, url: &str, csrf: &Csrf, if_match: Option<u64>, body: Option<String>) -> Result<Response, Failure> {
    let mut b = match method {
        "POST" => gloo_net::http::Request::post(url),
        "PUT" => gloo_net::http::Request::put(url),
        _ => gloo_net::http::Request::delete(url),
    };
    b = request(b);
    if let Some(t) = &csrf.0 {
        b = b.header("X-CSRF-Token", t);
    }
    if let Some(v) = if_match {
        b = b.header("If-Match", &shared::tenant::etag(v));
    }
    let sent = match body {
        Some(json) => b.header("Content-Type", "application/json").body(json).map_err(Failure::network)?.send().await,
        None => b.send().await,
    };
    sent.map_err(Failure::network)
}

/// A write to a tenant (`If-Match` its version), read as `Saved`.
pub async fn save(method: &'static str, url: String, csrf: Csrf, version: u64, body: Option<serde_json::Value>) -> Saved {
    write(method, url, csrf, Some(version), body).await
}

/// `POST /api/v1/tenants`: a new tenant (platform admins).
pub async fn create_tenant(id: String, display_name: String, csrf: Csrf) -> Saved {
    write("POST", TENANTS.to_string(), csrf, None, Some(serde_json::json!({ "id": id, "display_name": display_name }))).await
}

async fn write(method: &'static str, url: String, csrf: Csrf, version: Option<u64>, body: Option<serde_json::Value>) -> Saved {
    let resp = match send_write(method, &url, &csrf, version, body.map(|b| b.to_string())).await {
        Ok(r) => r,
        Err(f) => return Saved::Failed(f, None),
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if (200..300).contains(&status) {
        return match parse_body::<Tenant>(&text) {
            Ok(t) => Saved::Ok(Box::new(t)),
            Err(f) => Saved::Failed(f, None),
        };
    }
    match serde_json::from_str::<ApiError>(&text) {
        Ok(ApiError { current: Some(t), .. }) if status == 409 => Saved::Conflict(t),
        Ok(ApiError { validation: Some(v), code, message, .. }) => Saved::Invalid(v, Failure { code, message }),
        Ok(e) => Saved::Failed(Failure { code: e.code, message: e.message }, e.field),
        Err(_) => Saved::Failed(Failure::from_response(status, &resp.status_text(), &text), None),
    }
}

/// `POST /api/v1/fhir-bases/validate`: checks a FHIR base without saving it.
pub async fn validate_base(
    url: String,
    auth_method: shared::tenant::ClientAuthMethod,
    csrf: Csrf,
) -> Result<shared::validation::ValidationReport, Failure> {
    let body = serde_json::json!({ "url": url, "auth_method": auth_method }).to_string();
    let resp = send_write("POST", "/api/v1/fhir-bases/validate", &csrf, None, Some(body)).await?;
    read_json(resp).await
}

/// `GET /api/v1/tenants/{id}`.
pub async fn tenant(id: String) -> Result<Tenant, Failure> {
    let resp = request(gloo_net::http::Request::get(&tenant_url(&id, ""))).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

pub fn tenant_url(id: &str, rest: &str) -> String {
    format!("{TENANTS}/{}{rest}", url_pair("", id).trim_start_matches('='))
}

/// `GET …/integration-records`.
pub async fn integration_records(id: String) -> Result<shared::integration::IntegrationRecords, Failure> {
    let resp = request(gloo_net::http::Request::get(&tenant_url(&id, "/integration-records"))).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct AuditPage {
    pub entries: Vec<shared::audit::AuditEntry>,
}

/// `GET …/audit`.
pub async fn audit(id: String) -> Result<Vec<shared::audit::AuditEntry>, Failure> {
    let resp = request(gloo_net::http::Request::get(&tenant_url(&id, "/audit?limit=200"))).send().await.map_err(Failure::network)?;
    read_json::<AuditPage>(resp).await.map(|p| p.entries)
}

/// `GET …/fhir-bases/{base}/watch`: the watch list and the job's last look.
pub async fn watch(id: String, base_id: String) -> Result<shared::watch::WatchView, Failure> {
    let url = tenant_url(&id, &format!("/fhir-bases/{base_id}/watch"));
    let resp = request(gloo_net::http::Request::get(&url)).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

/// `POST …/fhir-bases/{base}/watch/check`: each id as the EHR names it, or what is wrong.
pub async fn check_watch(id: String, base_id: String, watch: shared::watch::Watch, csrf: Csrf) -> Result<shared::watch::Checked, Failure> {
    let body = serde_json::to_string(&watch).map_err(|e| Failure::bad_body(&e))?;
    let resp = send_write("POST", &tenant_url(&id, &format!("/fhir-bases/{base_id}/watch/check")), &csrf, None, Some(body)).await?;
    read_json(resp).await
}

/// A "Generate a new phone number" order as the API shows it.
pub use shared::api::{NumberList as Numbers, NumberOrder, OrderStatus, SecretInfo as StoredSecret};

/// `GET …/sms/numbers`.
pub async fn numbers(id: String) -> Result<Numbers, Failure> {
    let resp = request(gloo_net::http::Request::get(&tenant_url(&id, "/sms/numbers"))).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

/// `POST …/sms/numbers`: 202 and the order runs on the server.
pub async fn order_number(id: String, area_code: String, csrf: Csrf) -> Result<(), Failure> {
    let mut body = serde_json::json!({ "country": "US" });
    if !area_code.trim().is_empty() {
        body["area_code"] = area_code.trim().into();
    }
    let resp = send_write("POST", &tenant_url(&id, "/sms/numbers"), &csrf, None, Some(body.to_string())).await?;
    if resp.ok() {
        Ok(())
    } else {
        Err(failure(resp).await)
    }
}

/// The query string of a report: a range in days, or "custom" with two
/// dates, and the department.
pub fn report_query(range: &str, from: &str, to: &str, department: &str) -> String {
    let mut q = if range == "custom" { format!("{}&{}", url_pair("from", from), url_pair("to", to)) } else { url_pair("range", range) };
    if !department.is_empty() {
        q.push('&');
        q.push_str(&url_pair("department", department));
    }
    q
}

fn url_pair(k: &str, v: &str) -> String {
    let enc: String = v
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    format!("{k}={enc}")
}

pub fn report_url(tenant_id: &str, what: &str, query: &str) -> String {
    tenant_url(tenant_id, &format!("/reports/{what}?{query}"))
}

/// `GET …/reports/summary`.
pub async fn report_summary(tenant_id: String, query: String) -> Result<shared::report::SummaryResponse, Failure> {
    let resp = request(gloo_net::http::Request::get(&report_url(&tenant_id, "summary", &query))).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

/// `GET …/reports/visits`.
pub async fn report_visits(tenant_id: String, query: String) -> Result<shared::report::VisitsResponse, Failure> {
    let resp = request(gloo_net::http::Request::get(&report_url(&tenant_id, "visits", &query))).send().await.map_err(Failure::network)?;
    read_json(resp).await
}

/// `GET …/secrets`: names and when they were set; never a value.
pub async fn secrets(id: String) -> Result<Vec<StoredSecret>, Failure> {
    let resp = request(gloo_net::http::Request::get(&tenant_url(&id, "/secrets"))).send().await.map_err(Failure::network)?;
    read_json::<shared::api::SecretList>(resp).await.map(|s| s.secrets)
}

/// `GET /api/v1/tokens?tenant_id=`: the tenant's API tokens (never a value).
pub async fn tokens(tenant_id: String) -> Result<Vec<shared::api::ApiTokenInfo>, Failure> {
    let url = format!("/api/v1/tokens?{}", url_pair("tenant_id", &tenant_id));
    let resp = request(gloo_net::http::Request::get(&url)).send().await.map_err(Failure::network)?;
    read_json::<shared::api::ApiTokenList>(resp).await.map(|l| l.tokens)
}

/// `DELETE /api/v1/tokens/{id}`: revoked at once.
pub async fn revoke_token(id: String, csrf: Csrf) -> Result<(), Failure> {
    let resp = send_write("DELETE", &format!("/api/v1/tokens/{}", url_pair("", &id).trim_start_matches('=')), &csrf, None, None).await?;
    if resp.ok() {
        Ok(())
    } else {
        Err(failure(resp).await)
    }
}

/// `PUT …/secrets/{name}`: stores a value (write-only).
pub async fn store_secret(id: String, name: String, value: String, csrf: Csrf) -> Result<(), Failure> {
    let body = serde_json::json!({ "value": value }).to_string();
    let resp =
        send_write("PUT", &tenant_url(&id, &format!("/secrets/{}", url_pair("", &name).trim_start_matches('='))), &csrf, None, Some(body))
            .await?;
    if resp.ok() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    Err(Failure::from_response(resp.status(), &resp.status_text(), &text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::tenant::Role;

    #[test]
    fn report_urls_are_encoded() {
        assert_eq!(report_query("30", "", "", ""), "range=30");
        assert_eq!(report_query("7", "", "", "Cardio & East"), "range=7&department=Cardio%20%26%20East");
        assert_eq!(report_query("custom", "2026-11-01", "2026-11-23", ""), "from=2026-11-01&to=2026-11-23");
        assert_eq!(report_url("st-mary", "visits.csv", "range=7"), "/api/v1/tenants/st-mary/reports/visits.csv?range=7");
    }

    #[test]
    fn api_errors_keep_their_code() {
        let f = Failure::from_response(403, "Forbidden", r#"{"code":"csrf_mismatch","message":"Reload the page."}"#);
        assert_eq!(f, Failure { code: "csrf_mismatch".into(), message: "Reload the page.".into() });
    }

    #[test]
    fn non_api_errors_get_a_status_code() {
        let f = Failure::from_response(404, "File not found", "<html>nope</html>");
        assert_eq!(f.code, "http_404");
        assert!(f.message.contains("404 File not found"), "{}", f.message);
        assert_eq!(Failure::from_response(502, "", "").code, "http_502");
    }

    #[test]
    fn me_and_tenant_list_bodies_parse() {
        let me: Me = parse_body(r#"{"subject":"ana@example.org","role":"tenant_admin","tenant_id":"t1","csrf_token":"c"}"#).unwrap();
        assert_eq!(me.role, Role::TenantAdmin { tenant_id: "t1".into() });
        assert_eq!(me.csrf_token.as_deref(), Some("c"));
        let me: Me = parse_body(r#"{"subject":"root","role":"platform_admin"}"#).unwrap();
        assert_eq!(me.role, Role::PlatformAdmin);
        let list: TenantList = parse_body(r#"{"tenants":[]}"#).unwrap();
        assert!(list.tenants.is_empty());
        assert_eq!(parse_body::<TenantList>("[]").unwrap_err().code, "bad_response");
    }
}
