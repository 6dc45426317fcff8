//! Charts as SVG, written by hand (no plotting crate): grouped bar charts ([`Chart`]: one bar per backend in each
//! group, its height the median, a whisker from the minimum to the maximum of the runs, the median written above
//! it) and line charts over time ([`LineChart`]).

use std::fmt::Write as _;

use crate::stats::Summary;

/// One chart.
pub(crate) struct Chart<'a> {
    pub(crate) title: &'a str,
    /// The y axis, with its unit.
    pub(crate) axis: &'a str,
    /// Group labels along the x axis.
    pub(crate) groups: Vec<String>,
    /// Per backend: its name and one value per group (`None`: not measured).
    pub(crate) series: Vec<(String, Vec<Option<Summary>>)>,
    /// Logarithmic y axis (for values spanning decades).
    pub(crate) log: bool,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 44.0;
const BOTTOM: f64 = 74.0;

/// Series colours, in order; the peer (last series) is always grey.
const COLOURS: [&str; 5] = ["#1f6fb4", "#2a9d4a", "#8a4fbf", "#c0392b", "#d68910"];
const PEER_COLOUR: &str = "#8c8c8c";

/// A value as a short label: `152k`, `1.2M`, `52.3`, `5.23`.
pub(crate) fn short(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 {
        "0".to_owned()
    } else if abs >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if abs >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if abs >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" axis maximum and step for values up to `max`: 1, 2 or 5 times a power of ten per step, 4 to 6 steps.
fn linear_axis(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

impl Chart<'_> {
    /// The chart as an SVG document.
    pub(crate) fn render(&self) -> String {
        let values: Vec<f64> = self
            .series
            .iter()
            .flat_map(|(_, values)| values.iter().flatten())
            .flat_map(|s| [s.min, s.median, s.max])
            .filter(|v| v.is_finite() && (!self.log || *v > 0.0))
            .collect();
        let top_value = values.iter().copied().fold(0.0, f64::max);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        // Value to y coordinate, and the ticks.
        let (lo, hi, ticks): (f64, f64, Vec<f64>) = if self.log {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let lo = if min.is_finite() {
                min.log10().floor()
            } else {
                0.0
            };
            let hi = if top_value > 0.0 {
                top_value.log10().ceil().max(lo + 1.0)
            } else {
                lo + 1.0
            };
            let ticks = (lo as i32..=hi as i32).map(|e| 10f64.powi(e)).collect();
            (lo, hi, ticks)
        } else {
            let (max, step) = linear_axis(top_value * 1.08);
            let ticks = (0..)
                .map(|i| f64::from(i) * step)
                .take_while(|&t| t <= max + step / 2.0)
                .collect();
            (0.0, max, ticks)
        };
        let y = |value: f64| -> f64 {
            let fraction = if self.log {
                (value.max(10f64.powf(lo)).log10() - lo) / (hi - lo)
            } else {
                value / hi
            };
            TOP + plot_h * (1.0 - fraction.clamp(0.0, 1.0))
        };

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            WIDTH / 2.0,
            escape(self.title)
        );
        // Grid and y ticks.
        for &tick in &ticks {
            let ty = y(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#e3e3e3"/>"##,
                WIDTH - RIGHT
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                ty + 4.0,
                short(tick)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(self.axis)
        );
        let _ = writeln!(
            svg,
            r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#444"/>"##,
            TOP + plot_h,
            WIDTH - RIGHT,
            TOP + plot_h
        );
        // Bars.
        let groups = self.groups.len().max(1) as f64;
        let group_w = plot_w / groups;
        let n = self.series.len().max(1) as f64;
        let bar_w = (group_w * 0.8 / n).min(70.0);
        let last = self.series.len().saturating_sub(1);
        for (g, label) in self.groups.iter().enumerate() {
            let centre = LEFT + group_w * (g as f64 + 0.5);
            let _ = writeln!(
                svg,
                r#"<text x="{centre:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                TOP + plot_h + 18.0,
                escape(label)
            );
            for (s, (_, values)) in self.series.iter().enumerate() {
                let colour = if s == last && self.series.len() > 1 {
                    PEER_COLOUR
                } else {
                    COLOURS[s % COLOURS.len()]
                };
                let x = centre - bar_w * n / 2.0 + bar_w * s as f64;
                let Some(Some(summary)) = values.get(g) else {
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#999">n/a</text>"##,
                        x + bar_w / 2.0,
                        TOP + plot_h - 4.0
                    );
                    continue;
                };
                let top = y(summary.median);
                let _ = writeln!(
                    svg,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{colour}"/>"#,
                    x + 1.0,
                    bar_w - 2.0,
                    (TOP + plot_h - top).max(0.0)
                );
                let mid = x + bar_w / 2.0;
                let (wy1, wy2) = (y(summary.max), y(summary.min));
                let cap = (bar_w / 4.0).min(6.0);
                let _ = writeln!(
                    svg,
                    r##"<path d="M{mid:.1} {wy1:.1}V{wy2:.1}M{:.1} {wy1:.1}H{:.1}M{:.1} {wy2:.1}H{:.1}" stroke="#222" fill="none"/>"##,
                    mid - cap,
                    mid + cap,
                    mid - cap,
                    mid + cap
                );
                let _ = writeln!(
                    svg,
                    r#"<text x="{mid:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
                    wy1.min(top) - 4.0,
                    short(summary.median)
                );
            }
        }
        // Legend.
        let mut lx = LEFT;
        let ly = HEIGHT - 22.0;
        for (s, (name, _)) in self.series.iter().enumerate() {
            let colour = if s == last && self.series.len() > 1 {
                PEER_COLOUR
            } else {
                COLOURS[s % COLOURS.len()]
            };
            let _ = writeln!(
                svg,
                r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/>"#,
                ly - 10.0
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#,
                lx + 16.0,
                escape(name)
            );
            lx += 30.0 + 7.0 * name.len() as f64;
        }
        let _ = writeln!(
            svg,
            r##"<text x="{:.1}" y="{ly:.1}" text-anchor="end" fill="#555">bar: median; whisker: min to max</text>"##,
            WIDTH - RIGHT
        );
        svg.push_str("</svg>\n");
        svg
    }
}

/// A line chart: one line per series over a shared x axis, with an optional vertical marker (an instant worth
/// pointing at, such as the end of a phase).
pub(crate) struct LineChart<'a> {
    pub(crate) title: &'a str,
    /// The x axis, with its unit.
    pub(crate) x_axis: &'a str,
    /// The y axis, with its unit.
    pub(crate) y_axis: &'a str,
    /// Per backend: its name and its `(x, y)` points (empty: not measured). The last one is the peer, in grey.
    pub(crate) series: Vec<(String, Vec<(f64, f64)>)>,
    /// A dashed vertical line at this x, with its label.
    pub(crate) marker: Option<(f64, &'a str)>,
}

impl LineChart<'_> {
    /// The chart as an SVG document.
    pub(crate) fn render(&self) -> String {
        let points = || self.series.iter().flat_map(|(_, points)| points.iter());
        let x_top = points()
            .map(|&(x, _)| x)
            .chain(self.marker.map(|(x, _)| x))
            .filter(|x| x.is_finite())
            .fold(0.0, f64::max);
        let y_top = points()
            .map(|&(_, y)| y)
            .filter(|y| y.is_finite())
            .fold(0.0, f64::max);
        let (x_max, x_step) = linear_axis(x_top);
        let (y_max, y_step) = linear_axis(y_top * 1.08);
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let px = |x: f64| LEFT + plot_w * (x / x_max).clamp(0.0, 1.0);
        let py = |y: f64| TOP + plot_h * (1.0 - (y / y_max).clamp(0.0, 1.0));
        let ticks = |max: f64, step: f64| -> Vec<f64> {
            (0..)
                .map(|i| f64::from(i) * step)
                .take_while(|&t| t <= max + step / 2.0)
                .collect()
        };

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            svg,
            r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            WIDTH / 2.0,
            escape(self.title)
        );
        for tick in ticks(y_max, y_step) {
            let ty = py(tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="#e3e3e3"/>"##,
                WIDTH - RIGHT
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                LEFT - 6.0,
                ty + 4.0,
                short(tick)
            );
        }
        for tick in ticks(x_max, x_step) {
            let tx = px(tick);
            let _ = writeln!(
                svg,
                r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                TOP + plot_h + 16.0,
                short(tick)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(self.y_axis)
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h + 34.0,
            escape(self.x_axis)
        );
        let _ = writeln!(
            svg,
            r##"<path d="M{LEFT} {TOP}V{:.1}H{:.1}" stroke="#444" fill="none"/>"##,
            TOP + plot_h,
            WIDTH - RIGHT
        );
        if let Some((x, label)) = self.marker {
            let mx = px(x);
            let _ = writeln!(
                svg,
                r##"<line x1="{mx:.1}" y1="{TOP}" x2="{mx:.1}" y2="{:.1}" stroke="#666" stroke-dasharray="5 4"/>"##,
                TOP + plot_h
            );
            let _ = writeln!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555">{}</text>"##,
                mx + 4.0,
                TOP + 12.0,
                escape(label)
            );
        }
        let last = self.series.len().saturating_sub(1);
        let colour = |s: usize| {
            if s == last && self.series.len() > 1 {
                PEER_COLOUR
            } else {
                COLOURS[s % COLOURS.len()]
            }
        };
        for (s, (_, points)) in self.series.iter().enumerate() {
            if points.is_empty() {
                continue;
            }
            let path: Vec<String> = points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                path.join(" "),
                colour(s)
            );
        }
        // Legend.
        let mut lx = LEFT;
        let ly = HEIGHT - 12.0;
        for (s, (name, points)) in self.series.iter().enumerate() {
            let _ = writeln!(
                svg,
                r#"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{}"/>"#,
                ly - 10.0,
                colour(s)
            );
            let label = if points.is_empty() {
                format!("{name} (n/a)")
            } else {
                name.clone()
            };
            let _ = writeln!(
                svg,
                r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#,
                lx + 16.0,
                escape(&label)
            );
            lx += 30.0 + 7.0 * label.len() as f64;
        }
        svg.push_str("</svg>\n");
        svg
    }
}
