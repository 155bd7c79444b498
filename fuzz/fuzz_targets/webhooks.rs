//! Webhook bodies: Twilio's form posts (status callbacks and inbound texts,
//! with their signature) and Event Grid's JSON batches from ACS.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    if let Some(report) = gateway::sms::webhooks::twilio_report("a".repeat(64).as_str(), &params) {
        assert!(report.id.starts_with("twilio:"));
    }
    let sig = gateway::sms::twilio::signature("token", "https://gw.example/webhooks/twilio/status/t/v", &params);
    assert_eq!(sig, gateway::sms::twilio::signature("token", "https://gw.example/webhooks/twilio/status/t/v", &params));
    let _ = shared::sms::keyword(gateway::sms::webhooks::param(&params, "Body"));
    if let Ok(events) = serde_json::from_slice::<Vec<gateway::sms::webhooks::GridEvent>>(data) {
        let _ = gateway::sms::webhooks::grid_items(&events);
    }
});
