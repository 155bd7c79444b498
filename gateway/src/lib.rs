//! Visitgate gateway: one Cloudflare Worker for the provider's SMART launch,
//! the patient's link and lobby, notifications, the admin API and portal.
//!
//! Entry points only. `router` sends each request to its journey
//! (`launch`, `visit`, `patient`, `notify`, `admin`, `reports`); journeys
//! talk to outside systems through adapters (`ehr`, `sms`, `email`,
//! `video`) and keep state through `storage`. The rules they apply live in
//! the `shared` crate so they test on the host. `scripts/layout.py` checks
//! which of these may import which.

pub mod admin;
pub mod clock;
pub mod crypto;
pub mod ctx;
pub mod ehr;
pub mod email;
pub mod error;
pub mod http;
pub mod launch;
pub mod notify;
pub mod oidc;
pub mod pages;
pub mod patient;
pub mod reports;
pub mod retry;
pub mod router;
pub mod seal;
pub mod secrets;
pub mod sms;
pub mod storage;
pub mod upstream;
pub mod video;
pub mod visit;
pub mod webcrypto;

use worker::{event, Context, Env, Request, Response};

pub use sms::numbers::NumberOrderObject;
pub use storage::config::ConfigStoreObject;
pub use storage::launch_guard::LaunchGuardObject;
pub use storage::opt_out::OptOutObject;
pub use visit::object::VisitObject;

#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _schedule: worker::ScheduleContext) {
    if event.cron() == reports::retention::CRON {
        match reports::retention::run(&env, event.schedule() as i64).await {
            Ok(s) => worker::console_log!(
                "retention: {} tenants, {} visit objects forgotten, {} events, {} visits, {} audit entries deleted, {} problems",
                s.tenants,
                s.visit_objects,
                s.events,
                s.visits,
                s.audit,
                s.problems.len()
            ),
            Err(e) => worker::console_error!("retention: {}", e.body.code),
        }
        return;
    }
    let now = (event.schedule() / 1000.0) as u64;
    match ctx::Ctx::for_job(env) {
        Ok(ctx) => match notify::run(&ctx, now).await {
            Ok(s) => worker::console_log!(
                "notify: {} bases, {} appointments, {} sent, {} retrying, {} problems",
                s.bases,
                s.appointments,
                s.sent,
                s.retrying,
                s.problems.len()
            ),
            Err(e) => worker::console_error!("notify: {}", e.body.code),
        },
        Err(e) => worker::console_error!("notify: {}", e.body.message),
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, exec: Context) -> worker::Result<Response> {
    Ok(router::handle(req, env, exec).await)
}
