//! Puts a [`TrayModel`] on the desktop through the tray-icon crate, with the backend the platform
//! seam picks for this OS ([`dialtone_platform::tray`]; on Linux a StatusNotifierItem, no GTK).
//!
//! tray-icon's menu types are not `Send`, so one thread of its own owns the tray and applies
//! each new model (in the seam's loop, which gives the OS what it needs from that thread);
//! menu clicks come back as [`MenuAction`]s on a tokio channel.

use super::icon::{self, Panel};
use super::model::{MenuAction, MenuEntry, TrayModel};
use dialtone_core::verdict::Verdict;
use dialtone_platform::tray::tray_icon::menu::{
    CheckMenuItem, IsMenuItem, Menu, MenuEvent, MenuItem, PredefinedMenuItem, Submenu,
};
use dialtone_platform::tray::tray_icon::{
    Icon, MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent,
};
use std::ops::ControlFlow;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Why the tray could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum TrayError {
    /// tray-icon could not register the item (typically: no session bus on Linux, no desktop
    /// window on Windows).
    #[error("registering the tray icon: {0}")]
    Register(String),
    /// An icon did not decode.
    #[error(transparent)]
    Icon(#[from] icon::IconError),
    /// The tray thread could not be started or died.
    #[error("the tray thread: {0}")]
    Thread(String),
}

enum Command {
    Show(Box<TrayModel>),
    Stop,
}

/// The running tray. Dropping it removes the item from the bus.
pub struct TrayHost {
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl TrayHost {
    /// Registers the tray item showing `model`; clicks are sent to `actions`.
    pub fn spawn(
        model: TrayModel,
        panel: Panel,
        actions: tokio::sync::mpsc::UnboundedSender<MenuAction>,
    ) -> Result<TrayHost, TrayError> {
        let clicks = actions.clone();
        MenuEvent::set_event_handler(Some(move |event: MenuEvent| {
            match MenuAction::from_id(event.id.as_ref()) {
                Some(action) => {
                    let _ = actions.send(action);
                }
                None => tracing::debug!(id = ?event.id, "tray: click on an unknown item"),
            }
        }));
        TrayIconEvent::set_event_handler(Some(move |event: TrayIconEvent| {
            if let Some(action) = icon_click_action(&event) {
                let _ = clicks.send(action);
            }
        }));
        let (commands, inbox) = mpsc::channel::<Command>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), TrayError>>();
        let thread = std::thread::Builder::new()
            .name("dialtone-tray".into())
            .spawn(move || {
                let mut shown = match Shown::new(&model, panel) {
                    Ok(shown) => {
                        let _ = ready_tx.send(Ok(()));
                        shown
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                dialtone_platform::tray::run_loop(inbox, |command| match command {
                    Command::Show(model) => {
                        shown.apply(&model, panel);
                        ControlFlow::Continue(())
                    }
                    Command::Stop => ControlFlow::Break(()),
                });
            })
            .map_err(|e| TrayError::Thread(e.to_string()))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(TrayHost {
                commands,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err(TrayError::Thread("it ended before the tray was up".into())),
        }
    }

    /// Shows a new model (only what changed is sent to the bus).
    pub fn show(&self, model: TrayModel) {
        let _ = self.commands.send(Command::Show(Box::new(model)));
    }
}

impl Drop for TrayHost {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        MenuEvent::set_event_handler(None::<fn(MenuEvent)>);
        TrayIconEvent::set_event_handler(None::<fn(TrayIconEvent)>);
    }
}

/// The tray as it is on the bus, so each update sends only what changed.
struct Shown {
    tray: TrayIcon,
    icon: Verdict,
    model: TrayModel,
}

impl Shown {
    fn new(model: &TrayModel, panel: Panel) -> Result<Shown, TrayError> {
        let tray = TrayIconBuilder::new()
            .with_id("dialtone")
            .with_icon(tray_icon_for(model.icon, panel)?)
            .with_tooltip(&model.tooltip)
            .with_title(&model.title)
            .with_menu(Box::new(build_menu(&model.menu)))
            // The left click opens the dashboard (below); the menu is the right click's.
            .with_menu_on_left_click(false)
            .build()
            .map_err(|e| TrayError::Register(e.to_string()))?;
        Ok(Shown {
            tray,
            icon: model.icon,
            model: model.clone(),
        })
    }

    fn apply(&mut self, model: &TrayModel, panel: Panel) {
        // The icon changes only with the confirmed verdict (never animated).
        if model.icon != self.icon {
            match tray_icon_for(model.icon, panel) {
                Ok(icon) => {
                    if let Err(e) = self.tray.set_icon(Some(icon)) {
                        tracing::warn!("tray: setting the icon: {e}");
                    }
                    self.icon = model.icon;
                }
                Err(e) => tracing::warn!("tray: {e}"),
            }
        }
        if model.tooltip != self.model.tooltip {
            let _ = self.tray.set_tooltip(Some(&model.tooltip));
        }
        if model.title != self.model.title {
            self.tray.set_title(Some(&model.title));
        }
        if model.menu != self.model.menu {
            self.tray.set_menu(Some(Box::new(build_menu(&model.menu))));
        }
        self.model = model.clone();
    }
}

fn tray_icon_for(verdict: Verdict, panel: Panel) -> Result<Icon, TrayError> {
    // The size the tray draws at now (Windows: per DPI scaling), so nothing is rescaled.
    let size = icon::size_for(dialtone_platform::tray::icon_px());
    let rgba = icon::rgba(verdict, size, panel)?;
    Icon::from_rgba(rgba.pixels, rgba.size, rgba.size).map_err(|e| {
        TrayError::Icon(icon::IconError::Decode {
            name: verdict.as_str(),
            detail: e.to_string(),
        })
    })
}

/// What a click on the icon itself does: the primary (left) click, once released, opens the
/// dashboard, as on other tray apps (Windows: `WM_LBUTTONUP`; Linux: the StatusNotifierItem's
/// `Activate`, which hosts send for the primary click). Other buttons and moves do nothing here:
/// the right click is the menu's, handled by the OS.
fn icon_click_action(event: &TrayIconEvent) -> Option<MenuAction> {
    match event {
        TrayIconEvent::Click {
            button: MouseButton::Left,
            button_state: MouseButtonState::Up,
            ..
        } => Some(MenuAction::OpenDashboard),
        _ => None,
    }
}

/// muda reads `&` as a mnemonic marker: "1&1" would show as "1_1". `&&` is a literal `&`.
fn label(text: &str) -> String {
    text.replace('&', "&&")
}

enum Built {
    Item(MenuItem),
    Check(CheckMenuItem),
    Sub(Submenu),
    Separator(PredefinedMenuItem),
}

impl Built {
    fn item(&self) -> &dyn IsMenuItem {
        match self {
            Built::Item(i) => i,
            Built::Check(i) => i,
            Built::Sub(i) => i,
            Built::Separator(i) => i,
        }
    }
}

fn build(entry: &MenuEntry) -> Built {
    match entry {
        MenuEntry::Label(text) => Built::Item(MenuItem::new(label(text), false, None)),
        MenuEntry::Action { action, text } => {
            Built::Item(MenuItem::with_id(action.id(), label(text), true, None))
        }
        MenuEntry::Check {
            action,
            text,
            checked,
        } => Built::Check(CheckMenuItem::with_id(
            action.id(),
            label(text),
            true,
            *checked,
            None,
        )),
        MenuEntry::Submenu { text, entries } => {
            let sub = Submenu::new(label(text), true);
            for child in entries.iter().map(build) {
                if let Err(e) = sub.append(child.item()) {
                    tracing::warn!("tray: building the menu: {e}");
                }
            }
            Built::Sub(sub)
        }
        MenuEntry::Separator => Built::Separator(PredefinedMenuItem::separator()),
    }
}

fn build_menu(entries: &[MenuEntry]) -> Menu {
    let menu = Menu::new();
    for built in entries.iter().map(build) {
        if let Err(e) = menu.append(built.item()) {
            tracing::warn!("tray: building the menu: {e}");
        }
    }
    menu
}

/// Whether a tray host shows icons on this desktop (on Linux a StatusNotifierWatcher on the
/// session bus). Blocking.
pub fn host_present() -> Result<bool, String> {
    // The bus's own words only: the caller's message already says what was asked.
    dialtone_platform::tray::host_present().map_err(|e| e.detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ampersands_survive_the_mnemonic_parser() {
        assert_eq!(label("1&1's channels"), "1&&1's channels");
    }

    fn click(button: MouseButton, button_state: MouseButtonState) -> TrayIconEvent {
        TrayIconEvent::Click {
            id: "dialtone".into(),
            position: Default::default(),
            rect: Default::default(),
            button,
            button_state,
        }
    }

    #[test]
    fn the_left_click_released_opens_the_dashboard_and_nothing_else_does() {
        use MouseButton::{Left, Middle, Right};
        use MouseButtonState::{Down, Up};
        assert_eq!(
            icon_click_action(&click(Left, Up)),
            Some(MenuAction::OpenDashboard)
        );
        for (button, state) in [(Left, Down), (Right, Up), (Right, Down), (Middle, Up)] {
            assert_eq!(
                icon_click_action(&click(button, state)),
                None,
                "{button:?} {state:?}"
            );
        }
        let double = TrayIconEvent::DoubleClick {
            id: "dialtone".into(),
            position: Default::default(),
            rect: Default::default(),
            button: Left,
        };
        assert_eq!(icon_click_action(&double), None);
    }
}
