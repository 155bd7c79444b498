//! Widgets the pages share: whole-panel states, saving a section, a
//! write-only secret, small labels. Pages (`views`) use them; they use no page.

pub mod badge;
pub mod save;
pub mod secret;
pub mod status;
