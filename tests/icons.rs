//! The tray icons' generator and its check: renders every verdict's icon (a coloured disc with a
//! rim for the panel and a glyph) with tiny-skia at every tray size.
//!
//! `DIALTONE_WRITE_ICONS=1 cargo test --test icons` writes them into `icons/`; a plain run
//! fails when a committed PNG differs from what this file renders, so the icons stay
//! reproducible from source.
#![allow(clippy::unwrap_used)]

use dialtone::tray::icon::{colour, file_name, glyph_colour, Panel, SIZES};
use dialtone_core::verdict::Verdict;
use std::path::PathBuf;
use tiny_skia::{
    Color, FillRule, LineCap, LineJoin, Paint, PathBuilder, Pixmap, Stroke, Transform,
};

/// Everything is drawn on a 32 × 32 grid and scaled.
const GRID: f32 = 32.0;

fn paint(rgb: [u8; 3]) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color(Color::from_rgba8(rgb[0], rgb[1], rgb[2], 0xff));
    p.anti_alias = true;
    p
}

fn stroke(width: f32) -> Stroke {
    Stroke {
        width,
        line_cap: LineCap::Round,
        line_join: LineJoin::Round,
        ..Stroke::default()
    }
}

fn circle(cx: f32, cy: f32, r: f32) -> tiny_skia::Path {
    PathBuilder::from_circle(cx, cy, r).unwrap()
}

fn polyline(points: &[(f32, f32)], close: bool) -> tiny_skia::Path {
    let mut pb = PathBuilder::new();
    pb.move_to(points[0].0, points[0].1);
    for &(x, y) in &points[1..] {
        pb.line_to(x, y);
    }
    if close {
        pb.close();
    }
    pb.finish().unwrap()
}

fn render(id: Verdict, size: u32, panel: Panel) -> Vec<u8> {
    let mut pixmap = Pixmap::new(size, size).unwrap();
    let t = Transform::from_scale(size as f32 / GRID, size as f32 / GRID);
    let rim = panel.rim();
    let fill = paint(colour(id));
    let glyph = paint(glyph_colour(id));
    // The rim first, the disc inside it: a 1.5-unit ring that contrasts with the panel.
    pixmap.fill_path(
        &circle(16.0, 16.0, 15.5),
        &paint([rim[0], rim[1], rim[2]]),
        FillRule::Winding,
        t,
        None,
    );
    pixmap.fill_path(&circle(16.0, 16.0, 14.0), &fill, FillRule::Winding, t, None);
    let line = stroke(3.2);
    match id {
        Verdict::Healthy => {
            let path = polyline(&[(9.0, 16.5), (14.0, 21.5), (23.0, 11.0)], false);
            pixmap.stroke_path(&path, &glyph, &line, t, None);
        }
        Verdict::Degraded => {
            pixmap.stroke_path(
                &polyline(&[(16.0, 8.0), (16.0, 18.0)], false),
                &glyph,
                &line,
                t,
                None,
            );
            pixmap.fill_path(&circle(16.0, 23.5, 2.0), &glyph, FillRule::Winding, t, None);
        }
        Verdict::ProviderOutage => {
            pixmap.stroke_path(
                &polyline(&[(10.5, 10.5), (21.5, 21.5)], false),
                &glyph,
                &line,
                t,
                None,
            );
            pixmap.stroke_path(
                &polyline(&[(21.5, 10.5), (10.5, 21.5)], false),
                &glyph,
                &line,
                t,
                None,
            );
        }
        Verdict::AccountProblem => {
            // A key: a ring for the bow, a shaft, two teeth.
            pixmap.stroke_path(&circle(11.5, 16.0, 3.6), &glyph, &stroke(2.6), t, None);
            pixmap.stroke_path(
                &polyline(&[(15.0, 16.0), (24.0, 16.0)], false),
                &glyph,
                &stroke(2.6),
                t,
                None,
            );
            pixmap.stroke_path(
                &polyline(&[(21.0, 16.0), (21.0, 20.0)], false),
                &glyph,
                &stroke(2.2),
                t,
                None,
            );
            pixmap.stroke_path(
                &polyline(&[(24.0, 16.0), (24.0, 19.0)], false),
                &glyph,
                &stroke(2.2),
                t,
                None,
            );
        }
        Verdict::InternetDown => {
            // A globe (outline, equator, meridian) cut by a diagonal crack in the disc colour.
            let thin = stroke(1.8);
            pixmap.stroke_path(&circle(16.0, 16.0, 8.0), &glyph, &thin, t, None);
            pixmap.stroke_path(
                &polyline(&[(8.0, 16.0), (24.0, 16.0)], false),
                &glyph,
                &thin,
                t,
                None,
            );
            let mut pb = PathBuilder::new();
            pb.push_oval(tiny_skia::Rect::from_xywh(12.5, 8.0, 7.0, 16.0).unwrap());
            pixmap.stroke_path(&pb.finish().unwrap(), &glyph, &thin, t, None);
            pixmap.stroke_path(
                &polyline(
                    &[(9.0, 25.0), (15.0, 17.0), (17.5, 18.5), (23.0, 7.0)],
                    false,
                ),
                &fill,
                &stroke(2.6),
                t,
                None,
            );
        }
        Verdict::LocalProblem => {
            let house = polyline(
                &[
                    (16.0, 8.0),
                    (24.5, 15.5),
                    (22.0, 15.5),
                    (22.0, 23.5),
                    (10.0, 23.5),
                    (10.0, 15.5),
                    (7.5, 15.5),
                ],
                true,
            );
            pixmap.fill_path(&house, &glyph, FillRule::Winding, t, None);
            // The door, in the disc colour.
            pixmap.fill_path(
                &PathBuilder::from_rect(tiny_skia::Rect::from_xywh(14.2, 18.0, 3.6, 5.5).unwrap()),
                &fill,
                FillRule::Winding,
                t,
                None,
            );
        }
        Verdict::Unknown => {
            let mut pb = PathBuilder::new();
            pb.move_to(11.5, 12.5);
            pb.cubic_to(11.5, 6.5, 20.5, 6.5, 20.5, 12.0);
            pb.cubic_to(20.5, 15.5, 16.0, 15.5, 16.0, 19.0);
            pixmap.stroke_path(&pb.finish().unwrap(), &glyph, &stroke(3.0), t, None);
            pixmap.fill_path(&circle(16.0, 24.0, 2.0), &glyph, FillRule::Winding, t, None);
        }
    }
    pixmap.encode_png().unwrap()
}

fn icons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("icons")
}

#[test]
fn committed_icons_match_the_generator() {
    let write = std::env::var_os("DIALTONE_WRITE_ICONS").is_some();
    let mut stale = Vec::new();
    for id in Verdict::ALL {
        for panel in Panel::ALL {
            for size in SIZES {
                let png = render(id, size, panel);
                let path = icons_dir().join(file_name(id, size, panel));
                if write {
                    std::fs::write(&path, &png).unwrap();
                } else if std::fs::read(&path).ok().as_deref() != Some(png.as_slice()) {
                    stale.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "icons differ from the generator (run DIALTONE_WRITE_ICONS=1 cargo test --test icons): {stale:?}"
    );
}

/// The application icon's sizes that `src-tauri/icons/` does not have (it has 32, 128, 256 and
/// 512 px, which the package ships as they are: see `[package.metadata.deb]`): hicolor's, and
/// 20 px for the Windows `.ico` (125 % scaling; scripts/lib/package-windows.sh).
const APP_ICON_SIZES: [u32; 6] = [16, 20, 22, 24, 48, 64];

/// Scales the 512 px application icon down to `size`: halving with a bilinear filter (at an
/// exact half that is a 2 × 2 box average, so no detail aliases away) while the icon is at least
/// twice too big, then one bicubic step to the exact size.
fn app_icon(size: u32) -> Vec<u8> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src-tauri/icons/icon.png");
    let mut current = Pixmap::load_png(&source).unwrap();
    let scaled = |from: &Pixmap, to: u32, quality: tiny_skia::FilterQuality| {
        let mut out = Pixmap::new(to, to).unwrap();
        let s = to as f32 / from.width() as f32;
        let paint = tiny_skia::PixmapPaint {
            quality,
            ..tiny_skia::PixmapPaint::default()
        };
        out.draw_pixmap(
            0,
            0,
            from.as_ref(),
            &paint,
            Transform::from_scale(s, s),
            None,
        );
        out
    };
    while current.width() >= size * 2 {
        let half = current.width() / 2;
        current = scaled(&current, half, tiny_skia::FilterQuality::Bilinear);
    }
    if current.width() != size {
        current = scaled(&current, size, tiny_skia::FilterQuality::Bicubic);
    }
    current.encode_png().unwrap()
}

/// The package's icon files, made from the one 512 px source. Committed rather than made at
/// package time, so that `scripts/package` needs no image tool; this test keeps them in step
/// with the source (`DIALTONE_WRITE_ICONS=1` rewrites them).
#[test]
fn committed_app_icon_sizes_match_the_source() {
    let write = std::env::var_os("DIALTONE_WRITE_ICONS").is_some();
    let mut stale = Vec::new();
    for size in APP_ICON_SIZES {
        let png = app_icon(size);
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join(format!("packaging/icons/{size}x{size}"));
        let path = dir.join("dialtone.png");
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &png).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(png.as_slice()) {
            stale.push(path.display().to_string());
        }
        // What a menu shows: the right size, and the blue disc still opaque in the middle.
        let decoded = Pixmap::decode_png(&png).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (size, size));
        let centre = decoded.pixel(size / 4, size / 2).unwrap();
        assert_eq!(centre.alpha(), 0xff, "{size} px: {centre:?}");
        assert!(centre.blue() > centre.red(), "{size} px: {centre:?}");
    }
    assert!(
        stale.is_empty(),
        "app icons differ from src-tauri/icons/icon.png (run DIALTONE_WRITE_ICONS=1 cargo test --test icons): {stale:?}"
    );
}
