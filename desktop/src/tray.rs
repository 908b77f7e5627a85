//! The system tray icon (StatusNotifierItem over D-Bus on Linux, through
//! `tray-icon`'s pure-Rust `ksni` backend: no GTK needed).
//!
//! A tray needs a session bus *and* a tray host (the
//! `org.kde.StatusNotifierWatcher` name: KDE, GNOME with the AppIndicator
//! extension, most other desktops). Without one, [`Tray::start`] says why
//! and the app keeps its window instead of vanishing.

use std::sync::mpsc;

use tray_icon::menu::{Menu, MenuEvent, MenuId, MenuItem, PredefinedMenuItem};
use tray_icon::{Icon, TrayIcon, TrayIconBuilder};

/// What the tray menu asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayAction {
    /// Show the window.
    Show,
    /// Pause or resume upload.
    TogglePause,
    /// Quit Vitals.
    Quit,
}

/// A live tray icon and its menu.
pub struct Tray {
    _icon: TrayIcon,
    pause: MenuItem,
    ids: [(MenuId, TrayAction); 3],
    events: mpsc::Receiver<MenuEvent>,
}

/// Whether a tray host answers on the session bus.
fn tray_host() -> Result<(), String> {
    let conn =
        zbus::blocking::Connection::session().map_err(|e| format!("no D-Bus session bus ({e})"))?;
    let dbus = zbus::blocking::fdo::DBusProxy::new(&conn).map_err(|e| e.to_string())?;
    let name = zbus::names::BusName::try_from("org.kde.StatusNotifierWatcher")
        .map_err(|e| e.to_string())?;
    match dbus.name_has_owner(name) {
        Ok(true) => Ok(()),
        Ok(false) => Err("no tray host on this desktop (no StatusNotifierWatcher)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A 32×32 icon: a pulse line on a blue disc, drawn here (no image files).
fn icon() -> Result<Icon, String> {
    let n = 32usize;
    let mut rgba = vec![0u8; n * n * 4];
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f32 - 15.5, y as f32 - 15.5);
            let i = (y * n + x) * 4;
            if dx * dx + dy * dy <= 15.5 * 15.5 {
                rgba[i..i + 4].copy_from_slice(&[0x4e, 0x79, 0xa7, 0xff]);
            }
        }
    }
    // The pulse: flat, up, down, flat.
    let line = |x: usize| -> usize {
        match x {
            0..=9 => 16,
            10..=13 => 16 - (x - 9) * 2,
            14..=19 => 8 + (x - 13) * 3,
            20..=22 => 26 - (x - 19) * 3,
            _ => 16,
        }
    };
    for x in 4..28 {
        let y = line(x).min(n - 2);
        for yy in y..y + 2 {
            let i = (yy * n + x) * 4;
            rgba[i..i + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        }
    }
    Icon::from_rgba(rgba, n as u32, n as u32).map_err(|e| e.to_string())
}

impl Tray {
    /// Puts the icon in the tray, or says why it cannot. `wake` is called
    /// on every menu click (the window's repaint, so its logic runs even
    /// while hidden).
    pub fn start(paused: bool, wake: impl Fn() + Send + Sync + 'static) -> Result<Tray, String> {
        tray_host()?;
        let show = MenuItem::new("Show Vitals", true, None);
        let pause = MenuItem::new(pause_label(paused), true, None);
        let quit = MenuItem::new("Quit", true, None);
        let menu = Menu::new();
        menu.append_items(&[&show, &pause, &PredefinedMenuItem::separator(), &quit])
            .map_err(|e| e.to_string())?;
        let (tx, rx) = mpsc::channel();
        MenuEvent::set_event_handler(Some(move |e| {
            let _ = tx.send(e);
            wake();
        }));
        let ids = [
            (show.id().clone(), TrayAction::Show),
            (pause.id().clone(), TrayAction::TogglePause),
            (quit.id().clone(), TrayAction::Quit),
        ];
        let icon = TrayIconBuilder::new()
            .with_menu(Box::new(menu))
            .with_tooltip("Vitals")
            .with_title("Vitals")
            .with_icon(icon()?)
            .build()
            .map_err(|e| format!("cannot create the tray icon: {e}"))?;
        Ok(Tray {
            _icon: icon,
            pause,
            ids,
            events: rx,
        })
    }

    /// Menu clicks since the last call.
    pub fn actions(&self) -> Vec<TrayAction> {
        self.events
            .try_iter()
            .filter_map(|e| self.ids.iter().find(|(id, _)| *id == e.id).map(|(_, a)| *a))
            .collect()
    }

    /// Keeps the pause item's label in step with the state.
    pub fn set_paused(&self, paused: bool) {
        self.pause.set_text(pause_label(paused));
    }
}

fn pause_label(paused: bool) -> &'static str {
    if paused {
        "Resume upload"
    } else {
        "Pause upload"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_session_bus_the_tray_says_why() {
        // The test machines have no tray host; with no bus at all the
        // reason names the bus.
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            let e = tray_host().unwrap_err();
            assert!(e.contains("session bus") || e.contains("tray host"), "{e}");
        }
        assert!(icon().is_ok());
    }
}
