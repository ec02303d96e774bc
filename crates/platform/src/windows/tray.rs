//! The tray on Windows: tray-icon's Win32 backend (`Shell_NotifyIcon`), whose hidden window
//! receives the icon's clicks and menu as window messages on the thread that created it, so
//! that thread must pump messages; Explorer's notification area is always there to show it.
//! Windows 11 puts a new icon in the overflow until the user pins it.
//!
//! The shell draws tray icons at the small-icon size of the system DPI (16 px at 100 %, 20 at
//! 125 %, 24 at 150 %, 32 at 200 %) and scales any other bitmap to it, blurring it: the app asks
//! [`icon_px`] and hands over the icon rendered at that size. The process declares itself
//! DPI-aware first, since an unaware one is told 96 DPI whatever the screen.

#![allow(unsafe_code)] // the message pump's Win32 calls (on a MSG it owns) and the DPI queries.

use crate::tray::TrayHostError;
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::time::Duration;
use windows_sys::Win32::UI::HiDpi::{
    GetDpiForSystem, GetSystemMetricsForDpi, SetProcessDpiAwarenessContext,
    DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, PeekMessageW, TranslateMessage, MSG, PM_REMOVE, SM_CXSMICON,
};

/// How often the loop looks for window messages while it waits for commands: a click on the
/// icon or its menu is handled within this. (Waiting on both at once would take
/// `MsgWaitForMultipleObjects` with no handles, which wine answers at once, spinning the loop.)
const MESSAGE_POLL: Duration = Duration::from_millis(50);

pub(crate) fn host_present() -> Result<bool, TrayHostError> {
    // The notification area belongs to the shell; with no shell running there is no desktop
    // to show anything on either.
    Ok(true)
}

/// Windows 11 shows a new tray icon only in the overflow until the user pins it.
pub(crate) const NEW_ICONS_MAY_BE_HIDDEN: bool = true;

/// The size in pixels the notification area draws icons at now.
pub(crate) fn icon_px() -> Option<u32> {
    static AWARE: std::sync::Once = std::sync::Once::new();
    AWARE.call_once(|| {
        // Fails when the awareness is set already (by a manifest or an earlier call), which is
        // as good; it must come before the tray's window exists, and this is asked for the
        // first icon, before the tray is built.
        let _ =
            unsafe { SetProcessDpiAwarenessContext(DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2) };
    });
    let dpi = unsafe { GetDpiForSystem() };
    let metric = unsafe { GetSystemMetricsForDpi(SM_CXSMICON, dpi) };
    Some(match u32::try_from(metric) {
        Ok(px) if px > 0 => px,
        _ => super::rules::small_icon_px(dpi),
    })
}

pub(crate) fn run_loop<C>(
    inbox: mpsc::Receiver<C>,
    mut on_command: impl FnMut(C) -> ControlFlow<()>,
) {
    loop {
        pump_messages();
        match inbox.recv_timeout(MESSAGE_POLL) {
            Ok(command) => {
                if on_command(command).is_break() {
                    return;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Hands every waiting window message of this thread to its window procedure.
fn pump_messages() {
    let mut msg = MSG::default();
    while unsafe { PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, PM_REMOVE) } != 0 {
        unsafe {
            TranslateMessage(&msg);
            DispatchMessageW(&msg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under wine (96 DPI unless configured) this is 16 px; on a Windows at 125 % it is 20.
    #[test]
    fn the_icon_size_is_the_small_icon_metric_at_the_system_dpi() {
        let px = icon_px();
        let dpi = unsafe { GetDpiForSystem() };
        assert_eq!(
            px,
            Some(super::super::rules::small_icon_px(dpi)),
            "at {dpi} DPI"
        );
    }
}
