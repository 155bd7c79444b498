//! What one text is, as the SMS adapters take it.

/// One text; the number and body pass through memory only.
pub struct Sms<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub body: &'a str,
    /// Where delivery reports go (Twilio) or the visit they belong to (ACS tag).
    pub status_callback: &'a str,
    pub tag: &'a str,
    /// The message's exactly-once key and when it was first tried (RFC 1123).
    pub key: &'a str,
    pub first_sent: &'a str,
}
