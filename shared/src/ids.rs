//! Identifiers that appear in URLs and KV keys.

/// Tenant and FHIR-base ids: lowercase letters, digits and '-', 2–40
/// characters, starting with a letter or digit. Keeps URLs and KV keys
/// unambiguous.
pub fn is_valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    (2..=40).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

pub const ID_RULE: &str = "Use 2–40 lowercase letters, digits or '-', starting with a letter or digit.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_slugs_refuses_odd_characters() {
        assert!(is_valid_id("st-mary"));
        assert!(is_valid_id("a1"));
        for bad in ["", "a", "-x", "A-b", "a/b", "a b", "a..b", "ä-x", "a%2fb", &"x".repeat(41)] {
            assert!(!is_valid_id(bad), "{bad:?} should be refused");
        }
    }
}
