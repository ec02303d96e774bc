//! The tray: what it shows ([`model`], pure), the icons ([`icon`], compiled in) and the
//! StatusNotifierItem that puts them on the desktop ([`host`]).

pub mod host;
pub mod icon;
pub mod model;

pub use host::{TrayError, TrayHost};
pub use icon::Panel;
pub use model::{tray_model, MenuAction, MenuEntry, TrayContext, TrayModel};

#[cfg(test)]
mod tests;
