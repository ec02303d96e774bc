//! The tray on Linux: a StatusNotifierItem (tray-icon's `ksni` backend, pure Rust D-Bus, no
//! GTK), shown by whatever owns the StatusNotifierWatcher name on the session bus.

use crate::tray::TrayHostError;
use std::ops::ControlFlow;
use std::sync::mpsc;

/// The StatusNotifierWatcher's bus name: no owner means no tray host shows our item.
const WATCHER: &str = "org.kde.StatusNotifierWatcher";

pub(crate) fn host_present() -> Result<bool, TrayHostError> {
    let error = |e: zbus::Error| TrayHostError {
        bus: "the session bus",
        detail: e.to_string(),
    };
    let connection = zbus::blocking::Connection::session().map_err(error)?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&connection).map_err(error)?;
    let name = zbus::names::BusName::try_from(WATCHER).map_err(|e| error(e.into()))?;
    dbus.name_has_owner(name).map_err(|e| error(e.into()))
}

/// A StatusNotifierItem shows wherever the host puts it; nothing is hidden by default.
pub(crate) const NEW_ICONS_MAY_BE_HIDDEN: bool = false;

/// The host scales the pixmap to its panel itself, and no panel size is known here.
pub(crate) fn icon_px() -> Option<u32> {
    None
}

pub(crate) fn run_loop<C>(
    inbox: mpsc::Receiver<C>,
    mut on_command: impl FnMut(C) -> ControlFlow<()>,
) {
    // ksni serves the bus on threads of its own: this thread only applies the commands.
    for command in inbox {
        if on_command(command).is_break() {
            break;
        }
    }
}
