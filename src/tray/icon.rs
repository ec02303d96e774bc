//! The tray's icons: one per verdict, colour **and** glyph (DESIGN.md §1), so a colour-blind
//! user or a monochrome panel still tells them apart.
//!
//! The PNGs in `icons/` are rendered by `tests/icons.rs` (run it with `DIALTONE_WRITE_ICONS=1`
//! to regenerate; without it the test fails when a committed file differs from what the
//! renderer makes) and compiled in here, so the agent never depends on files next to it.

use dialtone_core::verdict::Verdict;

/// The tray sizes rendered, in pixels (square): 16/20/24/32 are Windows' notification area
/// at 100/125/150/200 % scaling, 22/24 common Linux panels, 48 a large one.
pub const SIZES: [u32; 6] = [16, 20, 22, 24, 32, 48];

/// The size handed to a tray host that scales the pixmap itself (Linux): 32 px stays crisp
/// when scaled down to a 16–24 px panel and is not blurry on a HiDPI one.
pub const TRAY_SIZE: u32 = 32;

/// The rendered size to hand over when the tray draws icons at `px` pixels
/// ([`dialtone_platform::tray::icon_px`]): that size when it is rendered, else the next larger
/// one (the shell scales down, which keeps edges sharper than scaling up), else the largest;
/// [`TRAY_SIZE`] when the host does not say.
pub fn size_for(px: Option<u32>) -> u32 {
    let Some(px) = px else {
        return TRAY_SIZE;
    };
    SIZES
        .into_iter()
        .find(|&size| size >= px)
        .unwrap_or(SIZES[SIZES.len() - 1])
}

/// The disc's fill colour (sRGB) of the icon for `verdict`. Tests read the tray's pixels and
/// look for it. The icon is the verdict itself ("not set up" shows [`Verdict::Unknown`]; the
/// tooltip and menu say why), so there is no icon type of its own to keep in step with it.
pub fn colour(verdict: Verdict) -> [u8; 3] {
    match verdict {
        Verdict::Healthy => [0x2e, 0x9e, 0x44],
        Verdict::Degraded => [0xf2, 0xc2, 0x00],
        Verdict::ProviderOutage => [0xd7, 0x26, 0x3d],
        Verdict::AccountProblem => [0xf0, 0x7c, 0x00],
        Verdict::InternetDown => [0xb0, 0x12, 0x2a],
        Verdict::LocalProblem => [0x4a, 0x6f, 0xa5],
        Verdict::Unknown => [0x8a, 0x8f, 0x98],
    }
}

/// The glyph's colour: white, except on yellow where white would not be legible.
pub fn glyph_colour(verdict: Verdict) -> [u8; 3] {
    match verdict {
        Verdict::Degraded => [0x20, 0x20, 0x20],
        _ => [0xff, 0xff, 0xff],
    }
}

/// The panel the icon sits on: the rim is dark on a light panel and light on a dark one, so
/// the disc's edge shows on both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Panel {
    /// A light panel (GNOME's default top bar is dark, KDE's light themes are not).
    Light,
    /// A dark panel (the common default).
    #[default]
    Dark,
}

impl Panel {
    /// Both variants.
    pub const ALL: [Panel; 2] = [Panel::Light, Panel::Dark];

    /// The file-name suffix.
    pub fn name(self) -> &'static str {
        match self {
            Panel::Light => "light",
            Panel::Dark => "dark",
        }
    }

    /// The panel variant named by `DIALTONE_PANEL` (`light`/`dark`); dark otherwise.
    pub fn from_env() -> Panel {
        match std::env::var("DIALTONE_PANEL").as_deref() {
            Ok("light") => Panel::Light,
            _ => Panel::Dark,
        }
    }

    /// The rim colour on this panel (RGBA).
    pub fn rim(self) -> [u8; 4] {
        match self {
            Panel::Light => [0x1a, 0x1a, 0x1a, 0xff],
            Panel::Dark => [0xf4, 0xf4, 0xf4, 0xff],
        }
    }
}

/// The file name of one verdict's icon, e.g. `healthy-32-dark.png`.
pub fn file_name(verdict: Verdict, size: u32, panel: Panel) -> String {
    format!("{}-{size}-{}.png", verdict.as_str(), panel.name())
}

macro_rules! icon_table {
    ($($id:ident => $name:literal),* $(,)?) => {
        /// The compiled-in PNG of one verdict's icon at one of [`SIZES`]; `None` for other
        /// sizes.
        pub fn png(verdict: Verdict, size: u32, panel: Panel) -> Option<&'static [u8]> {
            macro_rules! sizes {
                ($n:literal) => {
                    match (size, panel) {
                        (16, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-16-light.png")).as_slice()),
                        (16, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-16-dark.png")).as_slice()),
                        (20, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-20-light.png")).as_slice()),
                        (20, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-20-dark.png")).as_slice()),
                        (22, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-22-light.png")).as_slice()),
                        (22, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-22-dark.png")).as_slice()),
                        (24, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-24-light.png")).as_slice()),
                        (24, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-24-dark.png")).as_slice()),
                        (32, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-32-light.png")).as_slice()),
                        (32, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-32-dark.png")).as_slice()),
                        (48, Panel::Light) => Some(include_bytes!(concat!("../../icons/", $n, "-48-light.png")).as_slice()),
                        (48, Panel::Dark) => Some(include_bytes!(concat!("../../icons/", $n, "-48-dark.png")).as_slice()),
                        _ => None,
                    }
                };
            }
            match verdict {
                $(Verdict::$id => sizes!($name),)*
            }
        }
    };
}

icon_table! {
    Healthy => "healthy",
    Degraded => "degraded",
    ProviderOutage => "provider_outage",
    AccountProblem => "account_problem",
    InternetDown => "internet_down",
    LocalProblem => "local_problem",
    Unknown => "unknown",
}

/// Why an icon could not be decoded (only a corrupt build could cause it).
#[derive(Debug, thiserror::Error)]
pub enum IconError {
    /// No PNG at that size.
    #[error("no {size} px icon {name}")]
    NoSize {
        /// The icon's name.
        name: &'static str,
        /// The size asked for.
        size: u32,
    },
    /// The PNG did not decode.
    #[error("decoding icon {name}: {detail}")]
    Decode {
        /// The icon's name.
        name: &'static str,
        /// The decoder's words.
        detail: String,
    },
}

/// A decoded icon: straight (not premultiplied) RGBA rows, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Width and height in pixels.
    pub size: u32,
    /// `size * size * 4` bytes.
    pub pixels: Vec<u8>,
}

/// Decodes the compiled-in icon of `verdict` into RGBA.
pub fn rgba(verdict: Verdict, size: u32, panel: Panel) -> Result<Rgba, IconError> {
    let bytes = png(verdict, size, panel).ok_or(IconError::NoSize {
        name: verdict.as_str(),
        size,
    })?;
    let failed = |e: &dyn std::fmt::Display| IconError::Decode {
        name: verdict.as_str(),
        detail: e.to_string(),
    };
    let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
    // Palette or 16-bit files would decode into other layouts; normalise to 8-bit RGBA.
    decoder.set_transformations(::png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| failed(&e))?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader.next_frame(&mut buf).map_err(|e| failed(&e))?;
    buf.truncate(info.buffer_size());
    let pixels = match info.color_type {
        ::png::ColorType::Rgba => buf,
        ::png::ColorType::Rgb => buf
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 0xff])
            .collect(),
        other => return Err(failed(&format!("unexpected colour type {other:?}"))),
    };
    if info.width != size || info.height != size || pixels.len() != (size * size * 4) as usize {
        return Err(failed(&format!(
            "{}x{} is not {size} px",
            info.width, info.height
        )));
    }
    Ok(Rgba { size, pixels })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_icon_decodes_at_every_size_and_shows_its_colour() {
        for verdict in Verdict::ALL {
            for panel in Panel::ALL {
                for size in SIZES {
                    let icon = rgba(verdict, size, panel).unwrap();
                    let [r, g, b] = colour(verdict);
                    let fill = icon
                        .pixels
                        .chunks_exact(4)
                        .filter(|p| p[0] == r && p[1] == g && p[2] == b && p[3] == 0xff)
                        .count();
                    // The disc is most of the icon: a fifth of the pixels at least, even at 16 px where the
                    // globe glyph takes much of it.
                    assert!(
                        fill * 5 >= (size * size) as usize,
                        "{} {size} {panel:?}: {fill} fill pixels",
                        verdict.as_str()
                    );
                }
            }
        }
    }

    #[test]
    fn each_verdict_has_its_own_icon() {
        let ids: std::collections::HashSet<_> = Verdict::ALL.into_iter().collect();
        assert_eq!(ids.len(), Verdict::ALL.len());
        let colours: std::collections::HashSet<_> = Verdict::ALL.into_iter().map(colour).collect();
        assert_eq!(colours.len(), Verdict::ALL.len());
    }

    #[test]
    fn the_size_drawn_is_the_size_handed_over() {
        // Windows at 100, 125, 150 and 200 %: exactly the rendered icon, nothing scaled.
        for px in [16, 20, 24, 32] {
            assert_eq!(size_for(Some(px)), px);
            assert!(png(Verdict::Healthy, px, Panel::Dark).is_some());
        }
        // 175 % (28 px) and 250 % (40 px): the next larger one, scaled down by the shell.
        assert_eq!(size_for(Some(28)), 32);
        assert_eq!(size_for(Some(40)), 48);
        // Beyond the largest, the largest; a host that scales itself gets the 32 px one.
        assert_eq!(size_for(Some(64)), 48);
        assert_eq!(size_for(None), TRAY_SIZE);
    }

    #[test]
    fn other_sizes_are_refused() {
        assert!(png(Verdict::Healthy, 17, Panel::Dark).is_none());
        assert!(rgba(Verdict::Healthy, 64, Panel::Dark).is_err());
    }
}
