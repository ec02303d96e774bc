//! "Start at login": whether the agent starts with the desktop session, and the switch. How
//! (on Linux an XDG autostart entry) is the platform seam's ([`dialtone_platform::autostart`]);
//! this module keeps the app's one name for it.

pub(crate) use dialtone_platform::autostart::{is_enabled, set};
