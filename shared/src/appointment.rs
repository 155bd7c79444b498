//! Reading an Oracle Health video-visit Appointment and writing the meeting
//! links back into it. Rooms are found by `type.text`, never by position:
//! the documentation's own example has them in either order.

use serde_json::{json, Value};

use crate::video_rule::VideoRule;

pub const PROVIDER_ROOM: &str = "Provider Virtual Meeting Room";
pub const PATIENT_ROOM: &str = "Patient Virtual Meeting Room";
pub const VIDEO_SERVICE: &str = "Video Visit";

#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// Index in `contained`: the JSON Patch paths are built from it.
    pub index: usize,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoVisit {
    pub id: String,
    pub version_id: Option<String>,
    pub status: String,
    pub start: Option<String>,
    pub end: Option<String>,
    pub description: Option<String>,
    pub is_video: bool,
    pub provider_room: Option<Room>,
    pub patient_room: Option<Room>,
    /// `actor.display` of the Patient participant, for the provider's eyes only.
    pub patient_display: Option<String>,
}

fn text(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr).and_then(Value::as_str).map(str::to_string)
}

fn room(appointment: &Value, type_text: &str) -> Option<Room> {
    let contained = appointment.get("contained")?.as_array()?;
    contained.iter().enumerate().find_map(|(index, r)| {
        let is_room = r.get("resourceType").and_then(Value::as_str) == Some("HealthcareService")
            && r.get("type")?.as_array()?.iter().any(|t| t.get("text").and_then(Value::as_str) == Some(type_text));
        is_room.then(|| Room { index, url: text(r, "/telecom/0/value") })
    })
}

pub fn parse(appointment: &Value) -> Result<VideoVisit, String> {
    if appointment.get("resourceType").and_then(Value::as_str) != Some("Appointment") {
        return Err("not an Appointment".into());
    }
    let id = text(appointment, "/id").ok_or("the Appointment has no id")?;
    let service_video = appointment.get("serviceType").and_then(Value::as_array).is_some_and(|types| {
        types.iter().any(|t| {
            t.get("text").and_then(Value::as_str) == Some(VIDEO_SERVICE)
                || t.get("coding")
                    .and_then(Value::as_array)
                    .is_some_and(|c| c.iter().any(|c| c.get("display").and_then(Value::as_str) == Some(VIDEO_SERVICE)))
        })
    });
    let provider_room = room(appointment, PROVIDER_ROOM);
    let patient_room = room(appointment, PATIENT_ROOM);
    let patient_display = appointment.get("participant").and_then(Value::as_array).and_then(|ps| {
        ps.iter().find_map(|p| {
            let r = p.pointer("/actor/reference")?.as_str()?;
            if r.starts_with("Patient/") || r.contains("/Patient/") {
                text(p, "/actor/display")
            } else {
                None
            }
        })
    });
    Ok(VideoVisit {
        is_video: service_video || (provider_room.is_some() && patient_room.is_some()),
        id,
        version_id: text(appointment, "/meta/versionId"),
        status: text(appointment, "/status").unwrap_or_else(|| "unknown".into()),
        start: text(appointment, "/start"),
        end: text(appointment, "/end"),
        description: text(appointment, "/description"),
        provider_room,
        patient_room,
        patient_display,
    })
}

/// The id in `Type/id` or `…/Type/id` (absolute), if it is of `resource_type`.
pub fn reference_id(reference: &str, resource_type: &str) -> Option<String> {
    let mut parts = reference.trim_end_matches('/').rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    (ty == resource_type && !id.is_empty()).then(|| id.to_string())
}

/// The patient among an appointment's participants, by id.
pub fn patient_id(appointment: &Value) -> Option<String> {
    appointment["participant"].as_array()?.iter().find_map(|p| reference_id(p.pointer("/actor/reference")?.as_str()?, "Patient"))
}

/// Oracle's video-visit link patch (Millennium R4 patch-operation table): the
/// provider link, the patient link, and the period on the first room's
/// telecom (`/contained/0`, applied to both rooms) go together, all `add`
/// the first time and all `replace` once the rooms hold links. `Err` says
/// why there is nothing to write.
pub fn write_back_patch(visit: &VideoVisit, provider_url: &str, patient_url: &str) -> Result<Vec<Value>, &'static str> {
    let (Some(provider), Some(patient)) = (&visit.provider_room, &visit.patient_room) else {
        return Err("the appointment has no virtual meeting rooms to write to");
    };
    let (Some(start), Some(end)) = (&visit.start, &visit.end) else {
        return Err("the appointment has no start and end for the links' period");
    };
    let op = if visit.linked() { "replace" } else { "add" };
    Ok(vec![
        json!({"op": op, "path": format!("/contained/{}/telecom/0/value", provider.index), "value": provider_url}),
        json!({"op": op, "path": format!("/contained/{}/telecom/0/value", patient.index), "value": patient_url}),
        json!({"op": op, "path": "/contained/0/telecom/0/period/start", "value": start}),
        json!({"op": op, "path": "/contained/0/telecom/0/period/end", "value": end}),
    ])
}

impl VideoVisit {
    /// The rooms already hold links (a later patch replaces them).
    pub fn linked(&self) -> bool {
        [&self.provider_room, &self.patient_room].iter().any(|r| r.as_ref().is_some_and(|r| r.url.is_some()))
    }
}

/// Statuses a launch may open: not proposed, cancelled, noshow, fulfilled
/// or entered-in-error.
const LAUNCHABLE: [&str; 4] = ["booked", "arrived", "checked-in", "pending"];

/// Whether a participant of `appointment` is `resource_type/id` (relative or absolute).
fn refers_to(appointment: &Value, resource_type: &str, id: &str) -> bool {
    appointment["participant"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| p.pointer("/actor/reference").and_then(Value::as_str).and_then(|r| reference_id(r, resource_type)).as_deref() == Some(id))
}

/// From an Appointment search Bundle, the visit a launch is about: a video
/// visit under `rule`, in a launchable status, with `clinician` (a
/// Practitioner id) among its participants when known, nearest in time to
/// `now_ms`. Servers sort as they like (some newest first), so order is
/// not trusted. `instant` turns a FHIR instant into ms.
pub fn pick_for_launch(
    bundle: &Value,
    rule: &VideoRule,
    clinician: Option<&str>,
    now_ms: i64,
    instant: impl Fn(&str) -> Option<i64>,
) -> Option<Value> {
    let entries = bundle.get("entry")?.as_array()?;
    entries
        .iter()
        .filter_map(|e| e.get("resource"))
        .filter_map(|r| parse(r).ok().map(|v| (r, v)))
        .filter(|(r, v)| rule.covers(r, v) && LAUNCHABLE.contains(&v.status.as_str()))
        .filter(|(r, _)| clinician.is_none_or(|c| refers_to(r, "Practitioner", c)))
        .filter_map(|(r, v)| Some(((v.start.as_deref().and_then(&instant)? - now_ms).abs(), v.id.clone(), r)))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)))
        .map(|(_, _, r)| r.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patient_among_participants() {
        let a =
            serde_json::json!({"participant": [{"actor": {"reference": "Practitioner/1"}}, {"actor": {"reference": "Patient/12724066"}}]});
        assert_eq!(patient_id(&a).as_deref(), Some("12724066"));
        assert_eq!(patient_id(&serde_json::json!({"participant": []})), None);
    }

    fn fixture() -> Value {
        serde_json::from_str(include_str!("../../tests/fixtures/oracle-health/appointment-video-visit.json")).unwrap()
    }

    #[test]
    fn finds_rooms_by_type_text_not_position() {
        let v = parse(&fixture()).unwrap();
        assert_eq!(v.id, "3005757");
        assert_eq!(v.version_id.as_deref(), Some("3"));
        assert_eq!(v.patient_room, Some(Room { index: 0, url: Some("http://patientlink.vmr.net".into()) }));
        assert_eq!(v.provider_room.as_ref().unwrap().index, 1);
        assert!(v.is_video);
        assert_eq!(v.patient_display.as_deref(), Some("Smart, Barney R"));

        let mut swapped = fixture();
        swapped["contained"].as_array_mut().unwrap().reverse();
        let s = parse(&swapped).unwrap();
        assert_eq!((s.provider_room.unwrap().index, s.patient_room.unwrap().index), (0, 1));
    }

    #[test]
    fn patch_targets_the_rooms_found_all_add_then_all_replace() {
        let v = parse(&fixture()).unwrap();
        assert!(v.linked());
        let ops = write_back_patch(&v, "https://meet/provider", "https://meet/patient").unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!(ops[0], json!({"op": "replace", "path": "/contained/1/telecom/0/value", "value": "https://meet/provider"}));
        assert_eq!(ops[1], json!({"op": "replace", "path": "/contained/0/telecom/0/value", "value": "https://meet/patient"}));
        assert_eq!(ops[2]["path"], "/contained/0/telecom/0/period/start");
        assert_eq!(ops[3]["path"], "/contained/0/telecom/0/period/end");

        let mut fresh = fixture();
        for c in fresh["contained"].as_array_mut().unwrap() {
            c["telecom"][0].as_object_mut().unwrap().remove("value");
        }
        let ops = write_back_patch(&parse(&fresh).unwrap(), "https://p", "https://q").unwrap();
        assert!(ops.iter().all(|o| o["op"] == "add"), "the first write-back adds");

        let mut no_rooms = fixture();
        no_rooms["contained"] = json!([]);
        assert!(write_back_patch(&parse(&no_rooms).unwrap(), "a", "b").is_err());
        let mut no_end = fixture();
        no_end.as_object_mut().unwrap().remove("end");
        assert!(write_back_patch(&parse(&no_end).unwrap(), "a", "b").is_err());
    }

    #[test]
    fn references_and_search_pick() {
        assert_eq!(reference_id("Appointment/123", "Appointment").as_deref(), Some("123"));
        assert_eq!(reference_id("https://f/r4/t/Appointment/9", "Appointment").as_deref(), Some("9"));
        assert_eq!(reference_id("Encounter/1", "Appointment"), None);
        // A FHIR instant in whole hours of 2030-01-01, enough for the test.
        let hour = |s: &str| s.strip_prefix("2030-01-01T")?.get(..2)?.parse::<i64>().ok().map(|h| h * 3_600_000);
        let at = |id: &str, h: &str, status: &str, practitioner: &str| {
            let mut a = fixture();
            a["id"] = json!(id);
            a["status"] = json!(status);
            a["start"] = json!(format!("2030-01-01T{h}:00:00Z"));
            a["participant"][0]["actor"]["reference"] = json!(format!("Practitioner/{practitioner}"));
            json!({"resource": a})
        };
        // Newest first, as some servers answer; a proposed one nearest of all; another clinician's.
        let bundle = json!({"resourceType": "Bundle", "entry": [
            at("late", "15", "booked", "7"), at("proposed", "10", "proposed", "7"), at("near", "11", "booked", "7"),
            at("other", "10", "booked", "8"), at("early", "08", "arrived", "7"), at("gone", "10", "cancelled", "7")]});
        let pick =
            |who: Option<&str>| pick_for_launch(&bundle, &VideoRule::OracleRooms, who, 10 * 3_600_000, hour).map(|r| r["id"].clone());
        assert_eq!(pick(Some("7")), Some(json!("near")), "nearest in time, with this clinician, not proposed or cancelled");
        assert_eq!(pick(None), Some(json!("other")));
        assert_eq!(pick(Some("9")), None);
        let plain = json!({"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Appointment", "id": "p", "status": "booked",
            "start": "2030-01-01T10:00:00Z", "participant": [{"actor": {"reference": "https://f/r4/Practitioner/7"}}]}}]});
        assert_eq!(pick_for_launch(&plain, &VideoRule::OracleRooms, Some("7"), 0, hour), None);
        assert_eq!(pick_for_launch(&plain, &VideoRule::Every, Some("7"), 0, hour).unwrap()["id"], "p");
    }
}
