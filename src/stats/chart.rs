//! Charts drawn on the server as SVG: readable without script, sharp on a
//! projector and on a phone, and printable. Two shapes cover the office's
//! needs: bars by category, and columns over time with a second series as a
//! line (this year against last, arrivals against guest-nights).

use std::fmt::Write;

/// Escape text for SVG.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A round step for an axis reaching `max`: 1, 2 or 5 × 10ⁿ, about 4 ticks.
fn step(max: i64) -> i64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(magnitude * 10.0);
    nice as i64
}

/// `text` cut to `most` characters, with an ellipsis when cut.
fn shortened(text: &str, most: usize) -> String {
    if text.chars().count() <= most {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(most.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Horizontal bars, largest first as given: one row per (label, value).
pub fn bars(title: &str, rows: &[(String, i64)]) -> String {
    // Drawn small (440 units wide) so that its text reads at 16 units,
    // about 12 px on a phone's 330 px.
    let row_h = 30;
    let label_w = 180;
    let width = 440;
    let height = 30 + row_h * rows.len().max(1) as i64;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let scale = (width - label_w - 64) as f64 / max as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" class=\"chart\">",
        esc(title)
    );
    if rows.is_empty() {
        svg.push_str("<text x=\"20\" y=\"34\" font-size=\"16\">–</text>");
    }
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 20 + i as i64 * row_h;
        let w = (*value as f64 * scale).round() as i64;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"16\"><title>{}</title>{}</text>\
             <rect x=\"{label_w}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#0b5d7a\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"16\">{value}</text>",
            label_w - 8,
            y + 16,
            esc(label),
            esc(&shortened(label, 18)),
            y,
            w.max(1),
            row_h - 8,
            label_w + w + 6,
            y + 16,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Columns over time (`series`) with a second series drawn as a line
/// (`line`, same length, may be empty); labels under every `label_every`th.
pub fn columns(
    title: &str,
    labels: &[String],
    series: &[i64],
    line: &[i64],
    legend: (&str, &str),
) -> String {
    // Drawn small (480 units wide) so that its text reads at 15 units,
    // about 10 px on a phone's 330 px.
    let (width, height, left, bottom, top) = (480i64, 260i64, 56i64, 34i64, 34i64);
    let n = series.len().max(1) as i64;
    let max = series
        .iter()
        .chain(line.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let tick = step(max);
    let top_value = ((max + tick - 1) / tick) * tick;
    let plot_h = (height - bottom - top) as f64;
    let y = |v: i64| top as f64 + plot_h - v as f64 / top_value as f64 * plot_h;
    let slot = (width - left - 10) as f64 / n as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" class=\"chart\">",
        esc(title)
    );
    let mut v = 0;
    while v <= top_value {
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#dde3e8\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"15\">{v}</text>",
            width - 10,
            left - 6,
            y(v) + 5.0,
            y = y(v),
        );
        v += tick;
    }
    for (i, value) in series.iter().enumerate() {
        let x = left as f64 + i as f64 * slot + slot * 0.15;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#0b5d7a\"><title>{}: {value}</title></rect>",
            y(*value),
            slot * 0.7,
            top as f64 + plot_h - y(*value),
            esc(labels.get(i).map_or("", String::as_str)),
        );
    }
    if !line.is_empty() {
        let points: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, v)| {
                format!(
                    "{:.1},{:.1}",
                    left as f64 + i as f64 * slot + slot / 2.0,
                    y(*v)
                )
            })
            .collect();
        let _ = write!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#d29a00\" stroke-width=\"3\"/>",
            points.join(" ")
        );
    }
    // A label under every column that leaves room for it (a character of
    // 15 units taken as 9 wide, and a gap).
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1);
    let every = ((longest as f64 * 9.0 + 10.0) / slot).ceil().max(1.0) as usize;
    for (i, label) in labels.iter().enumerate().step_by(every) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" font-size=\"15\">{}</text>",
            left as f64 + i as f64 * slot + slot / 2.0,
            height - bottom + 20,
            esc(label)
        );
    }
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"8\" width=\"14\" height=\"14\" fill=\"#0b5d7a\"/><text x=\"{}\" y=\"21\" font-size=\"15\">{}</text>",
        left + 18,
        esc(legend.0)
    );
    if !line.is_empty() {
        // After the first legend, by its width: a Hangul or Han character
        // of 15 units is about 15 wide, any other about 8.5.
        let wide = |c: char| matches!(c, '\u{1100}'..='\u{11ff}' | '\u{2e80}'..='\u{9fff}' | '\u{ac00}'..='\u{d7af}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}');
        let first: f64 = legend
            .0
            .chars()
            .map(|c| if wide(c) { 15.0 } else { 8.5 })
            .sum();
        let at = left + 18 + first as i64 + 24;
        let _ = write!(
            svg,
            "<rect x=\"{at}\" y=\"13\" width=\"16\" height=\"4\" fill=\"#d29a00\"/><text x=\"{}\" y=\"21\" font-size=\"15\">{}</text>",
            at + 20,
            esc(legend.1)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(step(7), 2);
        assert_eq!(step(38), 10);
        assert_eq!(step(1234), 500);
        assert_eq!(step(0), 1);
    }

    #[test]
    fn charts_name_themselves_and_escape_labels() {
        let svg = bars("Quốc tịch", &[("A<B".into(), 3), ("KOR".into(), 1)]);
        assert!(svg.starts_with("<svg") && svg.contains("aria-label=\"Quốc tịch\""));
        assert!(svg.contains("A&lt;B") && !svg.contains("A<B"));
        let svg = columns(
            "By day",
            &["1".into(), "2".into()],
            &[3, 5],
            &[4, 2],
            ("a", "b"),
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2 + 2,
            "two columns and two legend keys"
        );
        assert!(svg.contains("<polyline"));
    }
}
