//! The window: live charts, the consent screen, upload controls, settings
//! and the status bar. Drawing only; all work happens in [`crate::engine`].
//!
//! The UI is repainted when a sample arrives (the hub thread asks for it) or
//! the person interacts — never continuously. Each chart draws at most about
//! one point per horizontal pixel (min/max downsampling keeps the spikes).

pub mod format;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eframe::egui::{self, Color32, RichText};
use egui_plot::{HoverPosition, Line, Plot, PlotPoints};
use vitals_shared::stats::Summary;

use self::format::{Unit, ago};
use crate::engine::{Command, Engine};
use crate::history::{History, Series};
use crate::settings::{Settings, SettingsFile};
use crate::tray::{Tray, TrayAction};
use crate::upload::UploadState;

/// The chart window choices.
pub const WINDOWS: [(&str, u64); 5] = [
    ("1 min", 60),
    ("5 min", 300),
    ("15 min", 900),
    ("1 h", 3600),
    ("all", u64::MAX),
];

/// The app's UI state.
pub struct VitalsApp {
    engine: Engine,
    settings_file: SettingsFile,
    edited: Settings,
    settings_note: Option<String>,
    window_secs: u64,
    per_core: bool,
    agree: bool,
    pairing_code: String,
    tray: Option<Tray>,
    tray_note: Option<String>,
    hide_at_start: bool,
    /// Set while the window is hidden in the tray: the engine's repaint
    /// requests are dropped then, so nothing is laid out or drawn.
    in_tray: Arc<AtomicBool>,
    quitting: bool,
}

impl VitalsApp {
    /// The UI over a running engine.
    pub fn new(engine: Engine, settings_file: SettingsFile, settings_note: Option<String>) -> Self {
        let edited = engine.settings.clone();
        let mut app = Self {
            engine,
            settings_file,
            edited,
            settings_note,
            window_secs: 60,
            per_core: false,
            agree: false,
            pairing_code: String::new(),
            tray: None,
            tray_note: None,
            hide_at_start: false,
            in_tray: Arc::new(AtomicBool::new(false)),
            quitting: false,
        };
        app.set_window(60);
        app
    }

    /// Uses `tray` (or says why there is none); `hidden` starts in it.
    /// `in_tray` is set while the window is hidden (the engine's repaint
    /// callback reads it).
    pub fn with_tray(
        mut self,
        tray: Result<Tray, String>,
        hidden: bool,
        in_tray: Arc<AtomicBool>,
    ) -> Self {
        self.in_tray = in_tray;
        match tray {
            Ok(t) => {
                self.tray = Some(t);
                self.hide_at_start = hidden;
            }
            Err(why) => {
                tracing::warn!("no tray: {why}; the window stays open");
                self.tray_note = Some(format!(
                    "No tray: {why}. Closing the window quits Vitals (use `vitals agent` to upload without a window)."
                ));
            }
        }
        self
    }

    /// Handles tray clicks and the close button; runs even while the window
    /// is hidden in the tray (then nothing is drawn).
    pub fn logic(&mut self, ctx: &egui::Context) {
        use egui::ViewportCommand as V;
        if std::mem::take(&mut self.hide_at_start) {
            self.in_tray.store(true, Ordering::Release);
            ctx.send_viewport_cmd(V::Visible(false));
        }
        if let Some(t) = &self.tray {
            for a in t.actions() {
                match a {
                    TrayAction::Show => {
                        self.in_tray.store(false, Ordering::Release);
                        ctx.send_viewport_cmd(V::Visible(true));
                        ctx.send_viewport_cmd(V::Focus);
                    }
                    TrayAction::TogglePause => {
                        let paused = self.engine.shared.paused.load(Ordering::Acquire);
                        self.engine.send(if paused {
                            Command::Resume
                        } else {
                            Command::Pause
                        });
                        t.set_paused(!paused);
                    }
                    TrayAction::Quit => {
                        self.quitting = true;
                        ctx.send_viewport_cmd(V::Close);
                    }
                }
            }
        }
        let close = ctx.input(|i| i.viewport().close_requested());
        if close && !self.quitting && self.tray.is_some() && self.engine.settings.close_to_tray {
            ctx.send_viewport_cmd(V::CancelClose);
            self.in_tray.store(true, Ordering::Release);
            ctx.send_viewport_cmd(V::Visible(false));
        }
    }

    /// The engine (tests look at its state).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn set_window(&mut self, secs: u64) {
        self.window_secs = secs;
        let per = self.engine.settings.interval().as_millis().max(1) as u64;
        let n = if secs == u64::MAX {
            usize::MAX
        } else {
            (secs * 1000 / per) as usize
        };
        if let Ok(mut h) = self.engine.shared.history.lock() {
            h.set_window(n);
        }
    }

    /// Draws everything into `ui` (the whole window).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        // Frames drawn (VITALS_LOG=vitals_desktop=debug): one per sample
        // when nobody touches the window.
        static FRAMES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = FRAMES.fetch_add(1, Ordering::Relaxed);
        if n.is_multiple_of(60) {
            tracing::debug!(frames = n, "frames drawn");
        }
        // Panels paint no background of their own: the frame is cleared to
        // the panel colour (`clear_color`), so a software rasteriser (Mesa
        // under Xvfb, VMs without GPU) shades far fewer pixels per frame.
        let bare = |m: f32| egui::Frame::NONE.inner_margin(m);
        egui::Panel::bottom("status")
            .frame(bare(6.0))
            .show(ui, |ui| self.status_bar(ui));
        egui::Panel::right("upload")
            .frame(bare(8.0))
            .default_size(360.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.upload_panel(ui));
            });
        egui::Panel::top("top").frame(bare(6.0)).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading("Vitals");
                ui.separator();
                ui.label("Window:");
                for (label, secs) in WINDOWS {
                    if ui
                        .selectable_label(self.window_secs == secs, label)
                        .clicked()
                    {
                        self.set_window(secs);
                    }
                }
                ui.separator();
                ui.checkbox(&mut self.per_core, "per core");
            });
        });
        egui::CentralPanel::default()
            .frame(bare(8.0))
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.charts(ui));
            });
    }

    fn status_bar(&self, ui: &mut egui::Ui) {
        let sh = &self.engine.shared;
        let status = sh
            .status
            .lock()
            .map(|s| s.clone())
            .unwrap_or(UploadState::LocalOnly);
        let (queued, dropped) = sh.queue_info.lock().map(|q| *q).unwrap_or_default();
        ui.horizontal_wrapped(|ui| {
            let colour = match status {
                UploadState::Uploading => Color32::from_rgb(0x2e, 0x7d, 0x32),
                UploadState::LocalOnly | UploadState::Paused => ui.visuals().text_color(),
                _ => Color32::from_rgb(0xc6, 0x28, 0x28),
            };
            ui.label(RichText::new(format!("Status: {status}")).color(colour));
            if queued > 0 && status != UploadState::LocalOnly {
                ui.label(format!("· {queued} samples waiting"));
            }
            if dropped > 0 {
                ui.label(format!("· {dropped} samples dropped (queue full)"));
            }
        });
        if let Some(n) = sh.notice.lock().ok().and_then(|n| n.clone()) {
            ui.label(n);
        }
        if let Some(n) = &self.engine.token_note {
            ui.label(RichText::new(n).small());
        }
        if let Some(n) = &self.tray_note {
            ui.label(RichText::new(n).small());
        }
        if let Some(n) = &self.settings_note {
            ui.label(RichText::new(n).small());
        }
    }

    fn upload_panel(&mut self, ui: &mut egui::Ui) {
        let sh = self.engine.shared.clone();
        let server = self.engine.settings.server_url.clone();
        if sh.consented.load(Ordering::Acquire) {
            ui.heading("Uploading");
            ui.label(format!("This machine's samples go to {server}."));
            ui.label("The server keeps them until midnight Europe/Warsaw, then erases them.");
            ui.add_space(6.0);
            if sh.paused.load(Ordering::Acquire) {
                if ui.button("Resume upload").clicked() {
                    self.engine.send(Command::Resume);
                }
            } else if ui.button("Pause upload").clicked() {
                self.engine.send(Command::Pause);
            }
            if ui.button("Open my dashboard").clicked() {
                self.engine.send(Command::OpenDashboard);
            }
            ui.add_space(6.0);
            if ui
                .button("Revoke consent")
                .on_hover_text("Stops upload now and deletes this machine's data on the server")
                .clicked()
            {
                self.agree = false;
                self.engine.send(Command::Revoke);
            }
            ui.label(RichText::new(format!("Token kept in {}.", self.engine.token_home)).small());
        } else {
            self.consent(ui, &server);
        }
        ui.separator();
        self.settings(ui);
    }

    fn consent(&mut self, ui: &mut egui::Ui, server: &str) {
        ui.heading("Share with a Vitals server?");
        ui.label("Nothing leaves this machine until you agree. Read what would be sent and kept:");
        let policy = self
            .engine
            .shared
            .policy
            .lock()
            .ok()
            .and_then(|p| p.clone());
        match &policy {
            None => {
                ui.label("Fetching the data policy…");
            }
            Some(p) => {
                egui::ScrollArea::vertical()
                    .id_salt("policy")
                    .max_height(260.0)
                    .show(ui, |ui| policy_text(ui, &p.text));
                ui.label(RichText::new(format!("Policy version {}", p.version)).small());
                if let Some(why) = &p.offline_reason {
                    ui.label(
                        RichText::new(format!(
                            "The server could not be reached ({why}); this is the copy built into the app."
                        ))
                        .small(),
                    );
                }
            }
        }
        egui::CollapsingHeader::new("Exactly what would be sent")
            .default_open(false)
            .show(ui, |ui| {
                ui.label(format!("To: {server}/api/v1/ingest, about once a second."));
                ui.label("Kept: today only; erased at midnight Europe/Warsaw, or when you revoke.");
                match self.engine.preview() {
                    Some(b) => {
                        let json = serde_json::to_string_pretty(&b).unwrap_or_default();
                        egui::ScrollArea::vertical()
                            .id_salt("preview")
                            .max_height(220.0)
                            .show(ui, |ui| {
                                ui.monospace(json);
                            });
                    }
                    None => {
                        ui.label("(waiting for the first sample)");
                    }
                }
            });
        ui.checkbox(&mut self.agree, "I have read and agree");
        let ready = self.agree && policy.is_some();
        if ui
            .add_enabled(ready, egui::Button::new("Proceed"))
            .clicked()
            && let Some(p) = policy
        {
            self.engine.send(Command::Consent(p.version));
        }
        ui.add_space(8.0);
        ui.label("Started on the website? Enter its pairing code:");
        ui.horizontal(|ui| {
            let label = ui.label("Pairing code");
            ui.add(
                egui::TextEdit::singleline(&mut self.pairing_code)
                    .hint_text("K7QF-2M9X")
                    .desired_width(110.0),
            )
            .labelled_by(label.id);
            let ok = !self.pairing_code.trim().is_empty();
            if ui.add_enabled(ok, egui::Button::new("Pair")).clicked() {
                self.engine.send(Command::Pair(self.pairing_code.clone()));
            }
        });
    }

    fn settings(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Settings").show(ui, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("Server");
                ui.text_edit_singleline(&mut self.edited.server_url)
                    .labelled_by(l.id);
            });
            ui.horizontal(|ui| {
                ui.label("Interval (ms)");
                ui.add(egui::DragValue::new(&mut self.edited.interval_ms).range(250..=10_000));
            });
            ui.horizontal(|ui| {
                ui.label("History (min)");
                ui.add(egui::DragValue::new(&mut self.edited.history_minutes).range(1..=1440));
            });
            ui.checkbox(
                &mut self.edited.close_to_tray,
                "Closing the window keeps Vitals in the tray",
            );
            ui.checkbox(&mut self.edited.start_in_tray, "Start in the tray");
            if ui.button("Save settings").clicked() {
                self.settings_note = Some(match self.settings_file.save(&self.edited) {
                    Ok(()) => format!(
                        "Saved to {}; applies at the next start.",
                        self.settings_file.path().display()
                    ),
                    Err(e) => format!("Not saved: {e}"),
                });
            }
        });
    }

    fn charts(&self, ui: &mut egui::Ui) {
        let Ok(h) = self.engine.shared.history.lock() else {
            return;
        };
        let Some(latest) = h.latest() else {
            ui.label("Taking the first sample…");
            return;
        };
        let now = latest.cpu.ts;
        let width = ui.available_width().max(100.0) as usize;
        let cores = latest.cpu.cores_pct.len();
        let load = latest.cpu.load1;
        let mounts = h.mounts();
        let span = if self.window_secs == u64::MAX {
            h.window_span_secs()
        } else {
            self.window_secs as f64
        };
        let view = View {
            span,
            now_ms: now,
            width,
        };

        let mut cpu = vec![("CPU".to_owned(), Series::Cpu, format::CPU)];
        if self.per_core {
            cpu.extend(
                (0..cores).map(|i| (format!("core {i}"), Series::Core(i), format::palette(i + 1))),
            );
        }
        let title = match load {
            Some(l) => format!("CPU — {cores} cores, load {l:.2}"),
            None => format!("CPU — {cores} cores"),
        };
        chart(ui, view, &h, &title, &cpu, Unit::Percent);
        let ram = latest.ram.clone();
        chart(
            ui,
            view,
            &h,
            &format!(
                "Memory — {} of {}, swap {} of {}",
                format::bytes(ram.used_bytes as f64),
                format::bytes(ram.total_bytes as f64),
                format::bytes(ram.swap_used_bytes as f64),
                format::bytes(ram.swap_total_bytes as f64)
            ),
            &[
                ("memory".into(), Series::Ram, format::RAM),
                ("swap".into(), Series::Swap, format::SWAP),
            ],
            Unit::Percent,
        );
        let used: Vec<_> = mounts
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    m.clone(),
                    Series::DiscUsed(m.clone()),
                    if i == 0 {
                        format::DISC
                    } else {
                        format::palette(i + 2)
                    },
                )
            })
            .collect();
        chart(ui, view, &h, "Disks — used per mount", &used, Unit::Percent);
        let io: Vec<_> = mounts
            .iter()
            .flat_map(|m| {
                [
                    (
                        format!("{m} read"),
                        Series::DiscRead(m.clone()),
                        format::READ,
                    ),
                    (
                        format!("{m} write"),
                        Series::DiscWrite(m.clone()),
                        format::WRITE,
                    ),
                ]
            })
            .collect();
        chart(
            ui,
            view,
            &h,
            "Disks — read and write",
            &io,
            Unit::BytesPerSec,
        );
    }
}

/// The policy's Markdown as paragraphs, headings and bullets (the few
/// constructs `assets/policy.md` uses), so lines wrap to the panel.
fn policy_text(ui: &mut egui::Ui, md: &str) {
    for block in md.split("\n\n") {
        let block = block.trim();
        if block.is_empty() || block.starts_with("<!--") {
            continue;
        }
        if let Some(h) = block
            .strip_prefix("# ")
            .or_else(|| block.strip_prefix("## "))
        {
            ui.add_space(4.0);
            ui.label(RichText::new(h).strong());
            continue;
        }
        // Bullets start a new line; other line breaks are soft.
        let mut text = String::new();
        for line in block.lines() {
            let line = line.trim();
            if let Some(item) = line.strip_prefix("- ") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str("• ");
                text.push_str(item);
            } else {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(line);
            }
        }
        ui.label(text.replace("**", ""));
    }
}

fn summary_line(s: &Summary, now: f64, unit: Unit) -> String {
    format!(
        "now {} · avg {} · median {} · min {} · max {}",
        unit.show(now),
        unit.show(s.mean),
        unit.show(s.median),
        unit.show(s.min),
        unit.show(s.max)
    )
}

/// One chart: a title, one line per series, and beside it the first
/// series' current value and window statistics (each series' on hover).
/// What every chart of one frame shares: seconds shown, the newest
/// sample's time, and the plot width in points.
#[derive(Clone, Copy)]
struct View {
    span: f64,
    now_ms: i64,
    width: usize,
}

fn chart(
    ui: &mut egui::Ui,
    view: View,
    h: &History,
    title: &str,
    series: &[(String, Series, Color32)],
    unit: Unit,
) {
    let View {
        span,
        now_ms,
        width,
    } = view;
    ui.add_space(4.0);
    ui.label(RichText::new(title).strong());
    for (name, s, colour) in series
        .iter()
        .take(if unit == Unit::BytesPerSec { 2 } else { 3 })
    {
        if let Some(st) = h.stats(s) {
            let cur = h.current(s).unwrap_or(f64::NAN);
            ui.label(
                RichText::new(format!("{name}: {}", summary_line(&st, cur, unit)))
                    .color(*colour)
                    .small(),
            );
        }
    }
    let lines: Vec<(String, Color32, Vec<[f64; 2]>)> = series
        .iter()
        .map(|(name, s, c)| {
            let pts = h
                .points(s, width)
                .into_iter()
                .map(|(t, v)| [(t - now_ms) as f64 / 1000.0, v])
                .collect();
            (name.clone(), *c, pts)
        })
        .collect();
    let mut plot = Plot::new(title)
        .show_background(false)
        // The same axis width everywhere keeps the charts' time axes aligned.
        .y_axis_min_width(64.0)
        .include_x(-span)
        .include_x(0.0)
        .height(130.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .include_y(0.0)
        .x_axis_formatter(|m, _| ago(m.value))
        .y_axis_formatter(move |m, _| match unit {
            Unit::Percent => format!("{:.0} %", m.value),
            Unit::BytesPerSec => format::bytes(m.value),
        })
        .label_formatter(move |pos| {
            let (name, p) = match pos {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => (*plot_name, *position),
                HoverPosition::Elsewhere { position } => ("", *position),
            };
            let at = chrono::DateTime::from_timestamp_millis(now_ms + (p.x * 1000.0) as i64)
                .map(|t| {
                    t.with_timezone(&chrono::Local)
                        .format("%H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            // Away from a line only the time is meaningful.
            Some(if name.is_empty() {
                at
            } else {
                format!("{name}\n{at}  {}", unit.show(p.y))
            })
        });
    if unit == Unit::Percent {
        plot = plot.include_y(100.0);
    }
    plot.show(ui, |p| {
        for (name, c, pts) in lines {
            p.line(Line::new(name, PlotPoints::from(pts)).color(c).width(1.5));
        }
    });
}

/// eframe's entry into [`VitalsApp::ui`].
impl eframe::App for VitalsApp {
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }

    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        VitalsApp::logic(self, ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        VitalsApp::ui(self, ui);
    }
}
