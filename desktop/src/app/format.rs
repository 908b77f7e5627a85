//! Units that read well, and the colours of each metric (the website uses
//! the same values, in `assets/web/`).

use eframe::egui::Color32;

/// CPU.
pub const CPU: Color32 = Color32::from_rgb(0x4e, 0x79, 0xa7);
/// Memory.
pub const RAM: Color32 = Color32::from_rgb(0x59, 0xa1, 0x4f);
/// Swap.
pub const SWAP: Color32 = Color32::from_rgb(0xb0, 0x7a, 0xa1);
/// Disk used.
pub const DISC: Color32 = Color32::from_rgb(0xf2, 0x8e, 0x2b);
/// Disk read rate.
pub const READ: Color32 = Color32::from_rgb(0x76, 0xb7, 0xb2);
/// Disk write rate.
pub const WRITE: Color32 = Color32::from_rgb(0xe1, 0x57, 0x59);

/// A few distinct colours for per-core and per-mount lines.
pub fn palette(i: usize) -> Color32 {
    const P: [Color32; 8] = [
        CPU,
        DISC,
        RAM,
        WRITE,
        READ,
        SWAP,
        Color32::from_rgb(0xed, 0xc9, 0x48),
        Color32::from_rgb(0x9c, 0x75, 0x5f),
    ];
    P[i % P.len()]
}

/// How a value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Percent, one decimal.
    Percent,
    /// Bytes per second, binary prefixes.
    BytesPerSec,
}

impl Unit {
    /// The value with its unit.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{v:.1} %"),
            Unit::BytesPerSec => format!("{}/s", bytes(v)),
        }
    }
}

/// Bytes with a binary prefix: `512 B`, `3.4 KiB`, `1.2 MiB`, `7.8 GiB`.
pub fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if !v.is_finite() {
        return "–".into();
    }
    let mut x = v.abs();
    let mut i = 0;
    while x >= 1024.0 && i + 1 < UNITS.len() {
        x /= 1024.0;
        i += 1;
    }
    let sign = if v < 0.0 { "-" } else { "" };
    if i == 0 {
        format!("{sign}{x:.0} B")
    } else {
        format!("{sign}{x:.1} {}", UNITS[i])
    }
}

/// `-1:30` for 90 seconds ago, `0:00` for now, `-1:00:00` for an hour.
pub fn ago(secs: f64) -> String {
    let s = secs.abs().round() as u64;
    let sign = if secs < -0.5 { "-" } else { "" };
    if s >= 3600 {
        format!("{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{sign}{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_well() {
        assert_eq!(Unit::Percent.show(12.345), "12.3 %");
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(3.5 * 1024.0), "3.5 KiB");
        assert_eq!(bytes(7.8 * 1024.0 * 1024.0 * 1024.0), "7.8 GiB");
        assert_eq!(Unit::BytesPerSec.show(1.25 * 1024.0 * 1024.0), "1.2 MiB/s");
        assert_eq!(bytes(f64::NAN), "–");
        assert_eq!(ago(-90.0), "-1:30");
        assert_eq!(ago(0.0), "0:00");
        assert_eq!(ago(-3600.0), "-1:00:00");
    }
}
