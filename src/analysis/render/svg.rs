//! A small SVG chart: lines and points on linear or logarithmic axes with labelled ticks,
//! an optional shaded band and a marked x position. Self-contained: no scripts, no fonts to fetch.

use std::fmt::Write;

pub const WIDTH: f64 = 600.0;
pub const HEIGHT: f64 = 330.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = 48.0;

/// Colours that stay apart for the colour-blind (Okabe–Ito).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub lines: bool,
    pub dashed: bool,
}

#[derive(Default)]
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub series: Vec<Series>,
    /// A shaded x range with its label (the operating range).
    pub band: Option<(f64, f64, String)>,
    /// A vertical marker with its label (the saturation point).
    pub marker: Option<(f64, String)>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round tick values covering [lo, hi].
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(mag * 10.0);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 12 {
        out.push(t);
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    pub fn render(&self) -> String {
        let pts: Vec<(f64, f64)> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.log_x || *x > 0.0))
            .collect();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"><title>{}</title>"#,
            esc(&self.title)
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="20" class="title">{}</text>"#,
            LEFT,
            esc(&self.title)
        );
        if pts.is_empty() {
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" class="empty">no data</text></svg>"#,
                WIDTH / 2.0 - 30.0,
                HEIGHT / 2.0
            );
            return svg;
        }
        let fx = |x: f64| if self.log_x { x.log10() } else { x };
        let (mut x0, mut x1) = pts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (x, _)| {
                (a.min(fx(*x)), b.max(fx(*x)))
            });
        let y1 = pts.iter().fold(f64::NEG_INFINITY, |a, (_, y)| a.max(*y)) * 1.08;
        let y0 = pts
            .iter()
            .fold(f64::INFINITY, |a, (_, y)| a.min(*y))
            .min(0.0);
        if x1 - x0 < 1e-12 {
            x0 -= 1.0;
            x1 += 1.0;
        }
        let y1 = if y1 - y0 < 1e-12 { y0 + 1.0 } else { y1 };
        let (pw, ph) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let px = |x: f64| LEFT + (fx(x) - x0) / (x1 - x0) * pw;
        let py = |y: f64| TOP + ph - (y - y0) / (y1 - y0) * ph;
        if let Some((a, b, text)) = &self.band {
            let (l, r) = (px(*a).max(LEFT), px(*b).min(LEFT + pw));
            let _ = write!(
                svg,
                r#"<rect x="{l:.1}" y="{TOP}" width="{:.1}" height="{ph}" class="band"/><text x="{:.1}" y="{}" class="note">{}</text>"#,
                (r - l).max(0.0),
                l + 3.0,
                TOP + ph - 6.0,
                esc(text)
            );
        }
        // Axes and grid.
        for t in ticks(y0, y1) {
            let y = py(t);
            let _ = write!(
                svg,
                r#"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{}</text>"#,
                LEFT + pw,
                LEFT - 6.0,
                y + 4.0,
                label(t)
            );
        }
        let xt: Vec<f64> = if self.log_x {
            ticks(x0.floor(), x1.ceil())
                .into_iter()
                .filter(|t| t.fract() == 0.0)
                .map(|t| 10f64.powf(t))
                .collect()
        } else {
            ticks(x0, x1)
        };
        for t in xt {
            let x = px(t);
            if x < LEFT - 0.5 || x > LEFT + pw + 0.5 {
                continue;
            }
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}" class="grid"/><text x="{x:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
                TOP + ph,
                TOP + ph + 16.0,
                label(t)
            );
        }
        let _ = write!(
            svg,
            r#"<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" class="frame"/>"#
        );
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
            LEFT + pw / 2.0,
            HEIGHT - 10.0,
            esc(&self.x_label)
        );
        let _ = write!(
            svg,
            r#"<text transform="translate(14 {}) rotate(-90)" class="axis" text-anchor="middle">{}</text>"#,
            TOP + ph / 2.0,
            esc(&self.y_label)
        );
        if let Some((x, text)) = &self.marker {
            let mx = px(*x);
            let _ = write!(
                svg,
                r#"<line x1="{mx:.1}" x2="{mx:.1}" y1="{TOP}" y2="{}" class="marker"/><text x="{:.1}" y="{}" class="note" text-anchor="end">{}</text>"#,
                TOP + ph,
                mx - 4.0,
                TOP + 26.0,
                esc(text)
            );
        }
        for (i, s) in self.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let points: Vec<(f64, f64)> = s
                .points
                .iter()
                .copied()
                .filter(|(x, y)| x.is_finite() && y.is_finite() && (!self.log_x || *x > 0.0))
                .collect();
            if s.lines && points.len() > 1 {
                let d: Vec<String> = points
                    .iter()
                    .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
                    .collect();
                let dash = if s.dashed {
                    r#" stroke-dasharray="5 4""#
                } else {
                    ""
                };
                let _ = write!(
                    svg,
                    r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                    d.join(" ")
                );
            }
            if !s.lines || points.len() <= 40 {
                let r = if s.lines { 3.0 } else { 2.0 };
                for (x, y) in &points {
                    let _ = write!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="{r}" fill="{color}" fill-opacity="{}"/>"#,
                        px(*x),
                        py(*y),
                        if s.lines { 1.0 } else { 0.45 }
                    );
                }
            }
        }
        // Legend: a row (or two) between the title and the plot.
        let (mut lx, mut ly) = (LEFT, 36.0);
        for (i, s) in self.series.iter().enumerate() {
            let width = 22.0 + 6.2 * s.name.chars().count() as f64;
            if lx + width > WIDTH - RIGHT {
                lx = LEFT;
                ly += 13.0;
            }
            let color = PALETTE[i % PALETTE.len()];
            let _ = write!(
                svg,
                r#"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="{color}"/><text x="{:.1}" y="{ly:.1}" class="legend">{}</text>"#,
                ly - 9.0,
                lx + 14.0,
                esc(&s.name)
            );
            lx += width;
        }
        svg.push_str("</svg>");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0.0, 10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let t = ticks(0.0, 4280.0);
        assert!(
            t.len() >= 4 && t.iter().all(|v| v % 500.0 == 0.0 || v % 1000.0 == 0.0),
            "{t:?}"
        );
    }

    #[test]
    fn labels_escape_markup() {
        let c = Chart {
            title: "a<b & c".into(),
            ..Chart::default()
        };
        assert!(c.render().contains("a&lt;b &amp; c"));
    }
}
