//! "Generate a new phone number": an asynchronous operation. The API answers
//! 202 with the operation's address at once; a Durable Object per tenant
//! keeps the orders and drives each one with alarms (Twilio: find a number,
//! buy it with our inbound webhook; ACS: search and purchase, each a
//! long-running operation polled until done). A finished number is added to
//! the tenant's SMS numbers. The status survives reloads and restarts.

use serde::{Deserialize, Serialize};
use shared::api::{NumberOrder, NumberOrderRequest, OrderStatus};
use shared::sms::SmsProvider;
use worker::{durable_object, DurableObject, Env, Headers, Method, Request, Response, State};

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::secrets::Secret;
use crate::storage::config::ConfigStore;
use crate::storage::durable;
use crate::upstream::acs_auth;
use crate::upstream::{send, UpstreamError, UpstreamResponse};

pub const BINDING: &str = "NUMBER_ORDERS";
const PHONE_API: &str = "api-version=2022-12-01";
/// Buying can be slow; an order is given up after this long.
const GIVE_UP_SECS: u64 = 30 * 60;
const POLL_MS: i64 = 1500;

/// One order as stored: what the admin sees, and the provider state
/// between steps (operation addresses, search ids), never shown.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    #[serde(flatten)]
    pub public: NumberOrder,
    #[serde(default)]
    progress: Progress,
}

impl std::ops::Deref for Order {
    type Target = NumberOrder;
    fn deref(&self) -> &NumberOrder {
        &self.public
    }
}

impl std::ops::DerefMut for Order {
    fn deref_mut(&mut self) -> &mut NumberOrder {
        &mut self.public
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
enum Progress {
    #[default]
    Start,
    AcsSearching {
        operation: String,
        search_id: String,
    },
    AcsPurchasing {
        operation: String,
        number: String,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)] // built once per request and serialised at once
enum Command {
    /// `key`: the caller's Idempotency-Key; a repeat answers the order it started.
    Start {
        tenant_id: String,
        order: Order,
        key: Option<String>,
    },
    List,
}

fn stub(env: &Env, tenant_id: &str) -> Result<worker::Stub> {
    Ok(env.durable_object(BINDING)?.get_by_name(tenant_id)?)
}

/// `POST /api/v1/tenants/{id}/sms/numbers`: starts an order, 202 + Location.
pub async fn start(
    ctx: &Ctx,
    tenant: &shared::tenant::Tenant,
    request: NumberOrderRequest,
    who: &str,
    key: Option<String>,
) -> Result<Response> {
    if key.as_deref().is_some_and(|k| k.is_empty() || k.len() > 128 || !k.bytes().all(|b| b.is_ascii_graphic())) {
        return Err(
            Error::bad_request("invalid_idempotency_key", "Idempotency-Key must be 1–128 visible characters.").field("Idempotency-Key")
        );
    }
    let sms = tenant
        .sms
        .as_ref()
        .ok_or_else(|| Error::new(409, "sms_not_configured", "Set up the SMS provider first, then generate a number."))?;
    if !sms.may_send() {
        return Err(Error::new(409, "sms_consent_missing", "Give both consents before generating a number."));
    }
    if request.country.len() != 2 || !request.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Error::bad_request("invalid_country", "Use a two-letter country code such as US.").field("country"));
    }
    if let Some(a) = &request.area_code {
        if a.len() != 3 || !a.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::bad_request("invalid_area_code", "An area code has three digits, e.g. 816.").field("area_code"));
        }
    }
    let now = crate::clock::now_secs();
    let public = NumberOrder {
        id: crate::crypto::random_id("ord_"),
        status: OrderStatus::Running,
        step: "Looking for an available number".into(),
        number: None,
        error: None,
        request,
        created_at: now,
        updated_at: now,
        created_by: who.into(),
    };
    let order = Order { public, progress: Progress::Start };
    let order: Order = crate::storage::rpc::call(
        &stub(&ctx.env, &tenant.id)?,
        "https://orders/command",
        &Command::Start { tenant_id: tenant.id.clone(), order, key },
    )
    .await?;
    let mut resp = crate::http::json(202, &order.public)?;
    resp.headers_mut().set("location", &format!("/api/v1/tenants/{}/sms/numbers/{}", tenant.id, order.public.id))?;
    Ok(resp)
}

/// The tenant's orders as the admin sees them, newest last.
pub async fn list(ctx: &Ctx, tenant_id: &str) -> Result<Vec<NumberOrder>> {
    let orders: Vec<Order> = crate::storage::rpc::call(&stub(&ctx.env, tenant_id)?, "https://orders/command", &Command::List).await?;
    Ok(orders.into_iter().map(|o| o.public).collect())
}

#[durable_object]
pub struct NumberOrderObject {
    state: State,
    env: Env,
}

impl NumberOrderObject {
    async fn orders(&self) -> worker::Result<Vec<Order>> {
        Ok(durable::get(&self.state.storage(), "orders").await?.unwrap_or_default())
    }

    /// Writes one order back into the list as it is now: never a list read
    /// before a provider call, which would drop what changed meanwhile.
    async fn save(&self, order: &Order) -> worker::Result<()> {
        let mut orders = self.orders().await?;
        match orders.iter_mut().find(|o| o.id == order.id) {
            Some(o) => *o = order.clone(),
            None => orders.push(order.clone()),
        }
        durable::put(&self.state.storage(), "orders", &orders).await
    }

    /// One step of every running order; another alarm while any still runs.
    /// Each order is saved as soon as its step is done, so a crash mid-way
    /// never repeats a purchase that went through.
    async fn progress(&self) -> Result<()> {
        let storage = self.state.storage();
        let tenant_id: String = durable::get(&storage, "tenant_id").await?.unwrap_or_default();
        let now = crate::clock::now_secs();
        let running: Vec<Order> = self.orders().await?.into_iter().filter(|o| o.status == OrderStatus::Running).collect();
        for mut order in running {
            let result = if now > order.created_at + GIVE_UP_SECS {
                Err("the provider did not finish within 30 minutes".to_string())
            } else {
                match ConfigStore::new(&self.env)?.get(&tenant_id).await {
                    Ok(tenant) => step(&self.env, &tenant, &mut order).await,
                    Err(e) => Err(e.body.message),
                }
            };
            if let Err(why) = result {
                order.status = OrderStatus::Failed;
                order.step = "Failed".into();
                order.error = Some(why);
            }
            order.updated_at = now;
            self.save(&order).await?;
        }
        if self.orders().await?.iter().any(|o| o.status == OrderStatus::Running) {
            storage.set_alarm(POLL_MS).await?;
        }
        Ok(())
    }
}

impl DurableObject for NumberOrderObject {
    fn new(state: State, env: Env) -> Self {
        NumberOrderObject { state, env }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        crate::storage::rpc::serve(req, "number orders", |cmd: Command| async move {
            let storage = self.state.storage();
            match cmd {
                Command::Start { tenant_id, order, key } => {
                    let key_slot = key.map(|k| format!("key:{}", crate::crypto::sha256_hex(&k)));
                    if let Some(slot) = &key_slot {
                        if let Some(id) = durable::get::<String>(&storage, slot).await? {
                            if let Some(same) = self.orders().await?.into_iter().find(|o| o.id == id) {
                                return Ok(serde_json::to_value(same)?);
                            }
                        }
                    }
                    let mut orders = self.orders().await?;
                    // One purchase at a time per tenant: a second press must not buy twice.
                    if let Some(running) = orders.iter().find(|o| o.status == OrderStatus::Running) {
                        return Err(Error::new(
                            409,
                            "number_order_running",
                            format!(
                                "A number is already being bought for this organisation (order {}). Wait for it to finish.",
                                running.id
                            ),
                        ));
                    }
                    durable::put(&storage, "tenant_id", &tenant_id).await?;
                    orders.retain(|o| o.updated_at + 7 * 86_400 > crate::clock::now_secs());
                    orders.push(order.clone());
                    durable::put(&storage, "orders", &orders).await?;
                    if let Some(slot) = &key_slot {
                        durable::put(&storage, slot, &order.id).await?;
                    }
                    storage.set_alarm(0).await?;
                    Ok(serde_json::to_value(order)?)
                }
                Command::List => Ok(serde_json::to_value(self.orders().await?)?),
            }
        })
        .await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let storage = self.state.storage();
        match self.progress().await {
            Ok(()) => crate::retry::after_success(&storage).await?,
            Err(e) => {
                worker::console_error!("number orders: {}", e.body.code);
                crate::retry::after_failure(&storage).await?;
            }
        }
        Response::ok("")
    }
}

type Step = std::result::Result<(), String>;

async fn step(env: &Env, tenant: &shared::tenant::Tenant, order: &mut Order) -> Step {
    let Some(sms) = &tenant.sms else { return Err("the SMS settings were removed".into()) };
    match &sms.provider {
        SmsProvider::Twilio { account_sid, auth_token_ref, api_base } => {
            let token =
                crate::secrets::tenant::get(env, &tenant.id, auth_token_ref).await.ok_or("the Twilio auth token secret is not set up")?;
            twilio_buy(
                env,
                tenant,
                order,
                &format!("{}/2010-04-01/Accounts/{account_sid}", api_base.trim_end_matches('/')),
                account_sid,
                &token,
            )
            .await
        }
        SmsProvider::Acs { endpoint, access_key_ref } => {
            let key = crate::secrets::tenant::get(env, &tenant.id, access_key_ref)
                .await
                .ok_or("the Communication Services access key secret is not set up")?;
            acs_step(env, tenant, order, endpoint.trim_end_matches('/'), &key).await
        }
    }
}

fn twilio_headers(sid: &str, token: &Secret) -> Headers {
    super::twilio::auth_headers(sid, token)
}

fn upstream_err(e: UpstreamError) -> String {
    match e {
        UpstreamError::Timeout => "the provider did not answer in time".into(),
        UpstreamError::Network(w) => w,
    }
}

fn provider_refused(r: &UpstreamResponse) -> String {
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
    let message = v["message"].as_str().or_else(|| v["error"]["message"].as_str()).unwrap_or("no reason given");
    format!("the provider refused (HTTP {}): {message}", r.status)
}

/// Twilio: pick an available number, then buy it with our inbound webhook.
/// Buying may take longer than we wait; the number is then looked up.
async fn twilio_buy(env: &Env, tenant: &shared::tenant::Tenant, order: &mut Order, account: &str, sid: &str, token: &Secret) -> Step {
    let mut search =
        url::Url::parse(&format!("{account}/AvailablePhoneNumbers/{}/Local.json", order.request.country)).map_err(|e| e.to_string())?;
    search.query_pairs_mut().append_pair("SmsEnabled", "true").append_pair("PageSize", "1");
    if let Some(a) = &order.request.area_code {
        search.query_pairs_mut().append_pair("AreaCode", a);
    }
    let r = send(Method::Get, search.as_str(), twilio_headers(sid, token), None, crate::upstream::messaging_timeout(env))
        .await
        .map_err(upstream_err)?;
    if !r.ok() {
        return Err(provider_refused(&r));
    }
    let v: serde_json::Value = serde_json::from_str(&r.body).map_err(|_| "unreadable answer from Twilio")?;
    let number =
        v["available_phone_numbers"][0]["phone_number"].as_str().ok_or("no number is available there; try another area code")?.to_string();
    order.step = format!("Buying {number}");
    let ctx_origin = env.var("PUBLIC_ORIGIN").map(|v| v.to_string()).unwrap_or_default();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("PhoneNumber", &number)
        .append_pair("SmsUrl", &format!("{ctx_origin}/webhooks/sms/inbound/{}", tenant.id))
        .append_pair("FriendlyName", "Visitgate");
    let headers = twilio_headers(sid, token);
    let _ = headers.set("content-type", "application/x-www-form-urlencoded");
    match send(
        Method::Post,
        &format!("{account}/IncomingPhoneNumbers.json"),
        headers,
        Some(form.finish()),
        std::time::Duration::from_secs(60),
    )
    .await
    {
        Ok(r) if r.ok() => {}
        Ok(r) => return Err(provider_refused(&r)),
        Err(UpstreamError::Timeout) => {
            // Twilio finishes a purchase even when we stop waiting: is it ours now?
            let mut owned = url::Url::parse(&format!("{account}/IncomingPhoneNumbers.json")).map_err(|e| e.to_string())?;
            owned.query_pairs_mut().append_pair("PhoneNumber", &number);
            let r = send(Method::Get, owned.as_str(), twilio_headers(sid, token), None, crate::upstream::messaging_timeout(env))
                .await
                .map_err(upstream_err)?;
            let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            if v["incoming_phone_numbers"].as_array().is_none_or(|a| a.is_empty()) {
                order.step = "Looking for an available number".into();
                return Ok(()); // not bought: the next alarm starts over
            }
        }
        Err(e) => return Err(upstream_err(e)),
    }
    finish(env, tenant, order, number).await
}

fn acs_header_map(key: &Secret, method: &Method, url: &str, body: &str) -> std::result::Result<Headers, String> {
    acs_auth::headers(key, method, url, body).ok_or_else(|| "the Communication Services access key is not valid base64".to_string())
}

async fn acs_call(
    env: &Env,
    key: &Secret,
    method: Method,
    url: &str,
    body: Option<String>,
) -> std::result::Result<UpstreamResponse, String> {
    let headers = acs_header_map(key, &method, url, body.as_deref().unwrap_or(""))?;
    send(method, url, headers, body, crate::upstream::messaging_timeout(env)).await.map_err(upstream_err)
}

/// An operation the provider answered with is followed only on the
/// provider's own host: another address would get our signed requests.
fn same_host(endpoint: &str, operation: String) -> std::result::Result<String, String> {
    let host = |u: &str| url::Url::parse(u).ok().map(|u| (u.scheme().to_string(), u.host_str().map(str::to_string), u.port()));
    match (host(endpoint), host(&operation)) {
        (Some(a), Some(b)) if a == b => Ok(operation),
        _ => Err("the provider pointed its operation at another host, which Visitgate does not follow".into()),
    }
}

/// The status of an ACS long-running operation: Some(true) done, Some(false) running.
async fn acs_operation(env: &Env, key: &Secret, url: &str) -> std::result::Result<bool, String> {
    let r = acs_call(env, key, Method::Get, url, None).await?;
    if !r.ok() {
        return Err(provider_refused(&r));
    }
    let v: serde_json::Value = serde_json::from_str(&r.body).map_err(|_| "unreadable answer from Communication Services")?;
    match v["status"].as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("succeeded") => Ok(true),
        Some("failed") | Some("cancelled") | Some("canceled") => {
            Err(format!("the provider's operation failed: {}", v["error"]["message"].as_str().unwrap_or("no reason given")))
        }
        _ => Ok(false),
    }
}

/// ACS: search (long-running) → search result → purchase (long-running).
async fn acs_step(env: &Env, tenant: &shared::tenant::Tenant, order: &mut Order, endpoint: &str, key: &Secret) -> Step {
    match order.progress.clone() {
        Progress::Start => {
            let mut body = serde_json::json!({
                "phoneNumberType": if order.request.area_code.is_some() { "geographic" } else { "tollFree" },
                "assignmentType": "application",
                "capabilities": {"calling": "none", "sms": "inbound+outbound"},
                "quantity": 1,
            });
            if let Some(a) = &order.request.area_code {
                body["areaCode"] = a.clone().into();
            }
            let url = format!("{endpoint}/availablePhoneNumbers/countries/{}/:search?{PHONE_API}", order.request.country);
            let r = acs_call(env, key, Method::Post, &url, Some(body.to_string())).await?;
            if r.status != 202 {
                return Err(provider_refused(&r));
            }
            let operation = same_host(endpoint, r.header("operation-location").ok_or("the search answer had no Operation-Location")?)?;
            let search_id = r.header("search-id").ok_or("the search answer had no search-id")?;
            order.step = "Reserving a number".into();
            order.progress = Progress::AcsSearching { operation, search_id };
            Ok(())
        }
        Progress::AcsSearching { operation, search_id } => {
            if !acs_operation(env, key, &operation).await? {
                return Ok(());
            }
            let r =
                acs_call(env, key, Method::Get, &format!("{endpoint}/availablePhoneNumbers/searchResults/{search_id}?{PHONE_API}"), None)
                    .await?;
            if !r.ok() {
                return Err(provider_refused(&r));
            }
            let v: serde_json::Value = serde_json::from_str(&r.body).map_err(|_| "unreadable search result")?;
            let number = v["phoneNumbers"][0].as_str().ok_or("no number is available; try another area code")?.to_string();
            let r = acs_call(
                env,
                key,
                Method::Post,
                &format!("{endpoint}/availablePhoneNumbers/:purchase?{PHONE_API}"),
                Some(serde_json::json!({"searchId": search_id}).to_string()),
            )
            .await?;
            if r.status != 202 {
                return Err(provider_refused(&r));
            }
            let operation = same_host(endpoint, r.header("operation-location").ok_or("the purchase answer had no Operation-Location")?)?;
            order.step = format!("Buying {number}");
            order.progress = Progress::AcsPurchasing { operation, number };
            Ok(())
        }
        Progress::AcsPurchasing { operation, number } => {
            if !acs_operation(env, key, &operation).await? {
                return Ok(());
            }
            finish(env, tenant, order, number).await
        }
    }
}

/// The number is ours: add it to the tenant's numbers (a retry on a
/// concurrent edit), and the order is done.
async fn finish(env: &Env, tenant: &shared::tenant::Tenant, order: &mut Order, number: String) -> Step {
    let store = ConfigStore::new(env).map_err(|e| e.body.message)?;
    let mut current = tenant.clone();
    for _ in 0..3 {
        let Some(sms) = current.sms.as_mut() else { return Err("the SMS settings were removed".into()) };
        if !sms.numbers.contains(&number) {
            sms.numbers.push(number.clone());
        }
        current.updated_at = crate::clock::now_iso();
        current.updated_by = order.created_by.clone();
        let expected = current.version;
        match store.save(current.clone(), expected, "sms.number_added").await {
            Ok(_) => {
                order.status = OrderStatus::Succeeded;
                order.step = "Ready".into();
                order.number = Some(number);
                return Ok(());
            }
            Err(e) if e.status == 409 => current = store.get(&tenant.id).await.map_err(|e| e.body.message)?,
            Err(e) => return Err(e.body.message),
        }
    }
    Err("the settings kept changing; the number was bought but not added, add it by hand".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_followed_only_on_the_providers_host() {
        let ep = "https://clinic.communication.azure.com";
        assert!(same_host(ep, format!("{ep}/phoneNumbers/operations/search_1?api-version=2022-12-01")).is_ok());
        assert!(same_host(ep, "https://169.254.169.254/latest".into()).is_err());
        assert!(same_host(ep, "http://clinic.communication.azure.com/x".into()).is_err());
        assert!(same_host(ep, "https://clinic.communication.azure.com.evil.example/x".into()).is_err());
        assert!(same_host(ep, "not a url".into()).is_err());
    }
}
