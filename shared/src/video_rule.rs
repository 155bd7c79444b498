//! Which appointments of a FHIR base are video visits. Oracle Health marks
//! them with its virtual meeting rooms; other SMART EHRs have plain FHIR R4
//! Appointments, so the admin names the appointment or service types that
//! mean "video", or says every appointment launched from is one.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::appointment::VideoVisit;

pub const MAX_TYPES: usize = 20;
pub const MAX_TYPE_LEN: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VideoRule {
    /// Oracle Health: the "Video Visit" service type, or both virtual meeting rooms.
    #[default]
    OracleRooms,
    /// An appointment whose `appointmentType` or `serviceType` (a coding's
    /// code or display, or the text) is one of these, ignoring case.
    Listed { types: Vec<String> },
    /// Every appointment is a video visit.
    Every,
}

impl VideoRule {
    /// Trimmed, without empties or repeats; `Err` is a sentence for the admin.
    pub fn checked(self) -> Result<Self, String> {
        match self {
            VideoRule::Listed { types } => {
                let mut out: Vec<String> = vec![];
                for t in types.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
                    if t.chars().count() > MAX_TYPE_LEN || t.chars().any(char::is_control) {
                        return Err(format!("Each type is a code or name of up to {MAX_TYPE_LEN} characters on one line."));
                    }
                    if !out.iter().any(|o| o.eq_ignore_ascii_case(t)) {
                        out.push(t.to_string());
                    }
                }
                if out.is_empty() || out.len() > MAX_TYPES {
                    return Err(format!(
                        "List from 1 to {MAX_TYPES} appointment or service types (codes or names) that mean a video visit."
                    ));
                }
                Ok(VideoRule::Listed { types: out })
            }
            other => Ok(other),
        }
    }

    /// Whether `appointment` (parsed as `visit`) is a video visit under this rule.
    pub fn covers(&self, appointment: &Value, visit: &VideoVisit) -> bool {
        match self {
            VideoRule::OracleRooms => visit.is_video,
            VideoRule::Every => true,
            VideoRule::Listed { types } => {
                let concepts =
                    std::iter::once(&appointment["appointmentType"]).chain(appointment["serviceType"].as_array().into_iter().flatten());
                concepts.flat_map(labels).any(|l| types.iter().any(|t| t.eq_ignore_ascii_case(l.trim())))
            }
        }
    }

    /// Whether appointments under this rule carry Oracle's rooms to write links into.
    pub fn has_rooms(&self) -> bool {
        matches!(self, VideoRule::OracleRooms)
    }
}

/// A CodeableConcept's text and each coding's code and display.
fn labels(concept: &Value) -> Vec<&str> {
    let mut out: Vec<&str> = concept["text"].as_str().into_iter().collect();
    for c in concept["coding"].as_array().into_iter().flatten() {
        out.extend(c["code"].as_str());
        out.extend(c["display"].as_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appointment::parse;
    use serde_json::json;

    fn plain(appointment_type: Value, service_text: &str) -> Value {
        json!({"resourceType": "Appointment", "id": "9", "status": "booked",
            "appointmentType": appointment_type,
            "serviceType": [{"coding": [{"system": "http://snomed.info/sct", "code": "185317003", "display": "Telephone encounter"}], "text": service_text}]})
    }

    #[test]
    fn oracle_rooms_is_the_default_and_plain_appointments_are_not_video() {
        let a = plain(json!({"text": "Follow up"}), "General");
        let v = parse(&a).unwrap();
        assert_eq!(VideoRule::default(), VideoRule::OracleRooms);
        assert!(!VideoRule::OracleRooms.covers(&a, &v));
        assert!(VideoRule::Every.covers(&a, &v));
        let old: VideoRule = serde_json::from_value(json!({"kind": "oracle_rooms"})).unwrap();
        assert_eq!(old, VideoRule::OracleRooms);
    }

    #[test]
    fn listed_types_match_codes_displays_and_texts_ignoring_case() {
        let rule = VideoRule::Listed { types: vec!["VR".into(), "telehealth".into()] };
        let by_code = plain(json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0276", "code": "VR"}]}), "General");
        let by_service_text = plain(json!({"text": "Follow up"}), "Telehealth ");
        let by_display = plain(json!({}), "x");
        let neither = plain(json!({"text": "Follow up"}), "General");
        assert!(rule.covers(&by_code, &parse(&by_code).unwrap()));
        assert!(rule.covers(&by_service_text, &parse(&by_service_text).unwrap()));
        assert!(!rule.covers(&neither, &parse(&neither).unwrap()));
        let phone = VideoRule::Listed { types: vec!["telephone ENCOUNTER".into()] };
        assert!(phone.covers(&by_display, &parse(&by_display).unwrap()));
    }

    #[test]
    fn listed_types_are_checked() {
        let tidy = VideoRule::Listed { types: vec![" VR ".into(), "vr".into(), "".into(), "Telehealth".into()] }.checked().unwrap();
        assert_eq!(tidy, VideoRule::Listed { types: vec!["VR".into(), "Telehealth".into()] });
        assert!(VideoRule::Listed { types: vec![" ".into()] }.checked().is_err());
        assert!(VideoRule::Listed { types: vec!["a\nb".into()] }.checked().is_err());
        assert!(VideoRule::Listed { types: vec!["x".repeat(101)] }.checked().is_err());
        assert!(VideoRule::Listed { types: (0..21).map(|i| i.to_string()).collect() }.checked().is_err());
        assert_eq!(VideoRule::Every.checked(), Ok(VideoRule::Every));
    }
}
