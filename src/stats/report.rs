//! The monthly report the office sends the city and the province: the
//! month before, the month, the year to date, each against the same period a
//! year earlier; overnight and same-day, international and domestic.

use chrono::{Datelike, Duration, NaiveDate};

use super::compare::{change, year_before};
use super::repo::{records_since, summary, Summary};
use crate::error::Result;

/// The five periods of a report for `month` (its first day).
pub struct Report {
    pub month: NaiveDate,
    pub previous_month: Summary,
    pub this_month: Summary,
    pub this_month_last_year: Summary,
    pub year_to_date: Summary,
    pub year_to_date_last_year: Summary,
    /// The first day the service holds any arrival or visit of, if any: a
    /// year-earlier period that begins before it is not a full comparison.
    pub records_since: Option<NaiveDate>,
}

fn month_end(first: NaiveDate) -> NaiveDate {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    };
    next.map_or(first, |n| n - Duration::days(1))
}

/// The report of the month starting `first`; a month still running counts
/// up to `today`.
pub async fn build(
    pool: &sqlx::PgPool,
    first: NaiveDate,
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<Report> {
    let end = month_end(first).min(today.max(first));
    let prev_end = first - Duration::days(1);
    let prev_first = prev_end.with_day(1).unwrap_or(prev_end);
    let jan = NaiveDate::from_ymd_opt(first.year(), 1, 1).unwrap_or(first);
    let s = |from, to| summary(pool, from, to, today, None, tz);
    Ok(Report {
        records_since: records_since(pool).await?,
        month: first,
        previous_month: s(prev_first, prev_end).await?,
        this_month: s(first, end).await?,
        this_month_last_year: s(year_before(first), year_before(end)).await?,
        year_to_date: s(jan, end).await?,
        year_to_date_last_year: s(year_before(jan), year_before(end)).await?,
    })
}

impl Report {
    /// Whether the records cover the year-earlier period starting `first`.
    fn covers(&self, first: NaiveDate) -> bool {
        self.records_since.is_none_or(|since| since <= first)
    }

    fn month_compared(&self) -> bool {
        self.covers(year_before(self.month))
    }

    fn year_compared(&self) -> bool {
        let jan = NaiveDate::from_ymd_opt(self.month.year(), 1, 1).unwrap_or(self.month);
        self.covers(year_before(jan))
    }

    /// A line under the table when a period of the report begins before
    /// the records do: its figures are partial, and a year-earlier one's
    /// change is not given.
    pub fn note(&self) -> Option<String> {
        // The year-earlier year to date begins before every other period
        // of the report: records that cover it cover them all.
        let since = self.records_since.filter(|_| !self.year_compared())?;
        let since = since.format("%d/%m/%Y");
        // When only one of the two year-earlier periods is cut short, it is
        // the year to date.
        let (vi, en) = if self.month_compared() {
            (
                ", nên không tính % so cùng kỳ (lũy kế)",
                ", so the year to date has no change against a year earlier",
            )
        } else {
            (
                ", nên không tính % so cùng kỳ",
                ", so no change against a year earlier is given",
            )
        };
        Some(format!(
            "Số liệu được ghi nhận từ ngày {since}; các kỳ bắt đầu trước ngày đó chưa đủ số \
             liệu{vi} (records begin on {since}; periods that start earlier are not fully \
             covered{en})."
        ))
    }
}

/// The report's rows: indicator, then the cells as text.
pub fn rows(r: &Report) -> Vec<[String; 7]> {
    type Get = fn(&Summary) -> i64;
    let counted: [(&str, Get); 7] = [
        ("Lượt khách lưu trú (arrivals)", |s| s.arrivals),
        ("– khách qua đêm (overnight)", |s| {
            s.arrivals - s.same_day_guests
        }),
        ("– khách trong ngày (same-day)", |s| s.same_day_guests),
        ("– khách quốc tế (international)", |s| {
            s.international_arrivals
        }),
        ("– khách nội địa (domestic)", |s| {
            s.domestic_arrivals
        }),
        ("Ngày khách (guest-nights)", |s| s.guest_nights),
        ("Lượt khách tham quan (attraction visitors)", |s| {
            s.attraction_visitors
        }),
    ];
    let pct = |c: Option<f64>| c.map_or("–".to_owned(), |c| format!("{c:.1}"));
    let (month_compared, year_compared) = (r.month_compared(), r.year_compared());
    let mut out: Vec<[String; 7]> = counted
        .iter()
        .map(|(name, get)| {
            [
                (*name).to_owned(),
                get(&r.previous_month).to_string(),
                get(&r.this_month).to_string(),
                pct(change(get(&r.this_month), get(&r.this_month_last_year))
                    .filter(|_| month_compared)),
                get(&r.year_to_date).to_string(),
                pct(change(get(&r.year_to_date), get(&r.year_to_date_last_year))
                    .filter(|_| year_compared)),
                get(&r.year_to_date_last_year).to_string(),
            ]
        })
        .collect();
    let rate = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    for (name, get) in [
        (
            "Độ dài lưu trú bình quân (ngày) (average stay)",
            (|s: &Summary| s.average_length_of_stay) as fn(&Summary) -> Option<f64>,
        ),
        (
            "Công suất buồng (%) (room occupancy)",
            |s: &Summary| s.room_occupancy_rate,
        ),
        (
            "Công suất giường (%) (bed occupancy)",
            |s: &Summary| s.bed_occupancy_rate,
        ),
    ] {
        out.push([
            name.to_owned(),
            rate(get(&r.previous_month)),
            rate(get(&r.this_month)),
            "–".to_owned(),
            rate(get(&r.year_to_date)),
            "–".to_owned(),
            // A rate of a year to date the records cover in part is not
            // the year's.
            rate(get(&r.year_to_date_last_year).filter(|_| year_compared)),
        ]);
    }
    out
}

pub fn headings(r: &Report) -> [String; 7] {
    let m = r.month;
    [
        "Chỉ tiêu".to_owned(),
        format!(
            "Tháng {}/{} (thực hiện)",
            (m - Duration::days(1)).month(),
            (m - Duration::days(1)).year()
        ),
        format!("Tháng {}/{}", m.month(), m.year()),
        "% so cùng kỳ (tháng)".to_owned(),
        format!("Lũy kế 1–{}/{}", m.month(), m.year()),
        "% so cùng kỳ (lũy kế)".to_owned(),
        format!("Lũy kế cùng kỳ {}", m.year() - 1),
    ]
}

pub fn xlsx(r: &Report) -> anyhow::Result<Vec<u8>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = book.add_worksheet();
    sheet.set_name(format!("Bao cao {:02}-{}", r.month.month(), r.month.year()))?;
    sheet.write_string_with_format(
        0,
        0,
        format!(
            "Báo cáo tình hình khách du lịch lưu trú tháng {}/{}",
            r.month.month(),
            r.month.year()
        ),
        &bold,
    )?;
    for (c, h) in headings(r).iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, h, &bold)?;
    }
    let rows = rows(r);
    for (i, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let at = (i + 3) as u32;
            match cell.parse::<f64>() {
                Ok(n) if c > 0 => sheet.write_number(at, c as u16, n)?,
                _ => sheet.write_string(at, c as u16, cell)?,
            };
        }
    }
    sheet.autofit();
    // Written after the columns are fitted: the note is a line of its own,
    // not a cell the first column should widen for.
    if let Some(note) = r.note() {
        sheet.write_string((rows.len() + 4) as u32, 0, note)?;
    }
    Ok(book.save_to_buffer()?)
}

/// The same report as a one-page PDF (A4 landscape), for the post.
pub fn pdf(r: &Report, fonts: &crate::qr::poster::Fonts) -> anyhow::Result<Vec<u8>> {
    use krilla::geom::{PathBuilder, Point, Rect};
    use krilla::page::PageSettings;
    use krilla::paint::Fill;
    use krilla::text::TextDirection;

    let (width, height) = (842.0f32, 595.0f32);
    let margin = 36.0f32;
    let mut document = krilla::Document::new();
    let settings =
        PageSettings::from_wh(width, height).ok_or_else(|| anyhow::anyhow!("bad page size"))?;
    let mut page = document.start_page_with(settings);
    let mut surface = page.surface();
    surface.set_fill(Some(Fill::default()));
    let mut text = |x: f32, y: f32, size: f32, bold: bool, s: &str| {
        surface.draw_text(
            Point::from_xy(x, y),
            fonts.for_text(s, bold),
            size,
            s,
            false,
            TextDirection::Auto,
        );
    };
    text(
        margin,
        margin + 14.0,
        16.0,
        true,
        &format!(
            "Báo cáo tình hình khách du lịch lưu trú tháng {}/{}",
            r.month.month(),
            r.month.year()
        ),
    );
    // The label column, then six columns of figures.
    let label_w = 250.0f32;
    let col_w = (width - 2.0 * margin - label_w) / 6.0;
    let x_of = |c: usize| {
        if c == 0 {
            margin
        } else {
            margin + label_w + (c - 1) as f32 * col_w
        }
    };
    let mut y = margin + 50.0;
    for (c, h) in headings(r).iter().enumerate() {
        // Headings wrap onto two lines within their column, a space's width
        // clear of the next one: a character of 8.5 pt bold is taken as
        // 5.2 pt wide, which its widest words (digits, capitals) are not
        // beyond.
        let room = if c == 0 { label_w } else { col_w } - 8.0;
        let mut line = String::new();
        let mut dy = 0.0;
        for word in h.split_whitespace() {
            if !line.is_empty()
                && (line.chars().count() + 1 + word.chars().count()) as f32 * 5.2 > room
            {
                text(x_of(c), y + dy, 8.5, true, &line);
                line.clear();
                dy += 11.0;
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        text(x_of(c), y + dy, 8.5, true, &line);
    }
    y += 30.0;
    let rows = rows(r);
    for row in &rows {
        for (c, cell) in row.iter().enumerate() {
            text(x_of(c), y, 9.5, false, cell);
        }
        y += 20.0;
    }
    if let Some(note) = r.note() {
        // Two lines of 8.5 pt under the table, split where the English
        // gloss begins.
        let (vi, en) = note.split_at(note.find(" (records").unwrap_or(note.len()));
        text(margin, y + 8.0, 8.5, false, vi.trim());
        text(margin, y + 20.0, 8.5, false, en.trim());
    }

    // Rules under the headings and at the foot of the table.
    let mut rules = PathBuilder::new();
    for at in [margin + 66.0, y - 12.0] {
        if let Some(rect) = Rect::from_xywh(margin, at, width - 2.0 * margin, 0.6) {
            rules.push_rect(rect);
        }
    }
    if let Some(path) = rules.finish() {
        surface.draw_path(&path);
    }
    surface.finish();
    page.finish();
    document
        .finish()
        .map_err(|e| anyhow::anyhow!("writing the PDF: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_end_on_their_last_day() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(month_end(d("2026-02-01")), d("2026-02-28"));
        assert_eq!(month_end(d("2028-02-01")), d("2028-02-29"));
        assert_eq!(month_end(d("2026-12-01")), d("2026-12-31"));
    }
}
