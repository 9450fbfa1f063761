//! Draws the charts of docs/benchmarks.md from the recorded figures in
//! docs/bench-data/ and writes them as SVG into docs/img/:
//!
//! - `forwarder-vs-peers.svg` from `forwarder-vs-peers.csv`: the forwarder's
//!   CPU per event against the peer pipelines, each measurement a group,
//!   bars at the median, dots for the single runs, whiskers over their range;
//! - `producer-vs-librdkafka.svg` from `producer-vs-librdkafka.csv`: our
//!   producer's records per CPU-second as a multiple of librdkafka's, at
//!   100 B and 1 KiB values, bars at the median, whiskers over the rounds.
//!
//! ```text
//! bench-charts [REPO_ROOT]
//! ```
//!
//! `scripts/bench-charts` runs it. The SVG keeps its text as text
//! (`font-family="sans-serif"`), so no font is needed to draw it.

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

type Result<T> = std::result::Result<T, Box<dyn Error>>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;
type Area<'b> = DrawingArea<SVGBackend<'b>, Shift>;

const OURS: RGBColor = RGBColor(31, 119, 180);
const OURS_ALT: RGBColor = RGBColor(120, 172, 214);
const PEER: RGBColor = RGBColor(230, 126, 34);
const PEER_ALT: RGBColor = RGBColor(192, 57, 43);
const INK: RGBColor = RGBColor(40, 40, 40);
const GREY: RGBColor = RGBColor(110, 110, 110);
const FONT: &str = "sans-serif";

/// The Intel Xeon machine both charts' figures were measured on, as recorded.
const XEON: &str = "Intel Xeon (family 6 model 207), 2 vCPUs under KVM, broker on the same host";

fn main() -> Result<()> {
    let root = match std::env::args_os().nth(1) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
    };
    let data = root.join("docs/bench-data");
    let img = root.join("docs/img");
    fs::create_dir_all(&img)?;

    let runs = read_csv(&data.join("forwarder-vs-peers.csv"))?;
    let out = img.join("forwarder-vs-peers.svg");
    forwarder_vs_peers(&runs, &out)?;
    println!("wrote {}", out.display());

    let rows = read_csv(&data.join("producer-vs-librdkafka.csv"))?;
    let out = img.join("producer-vs-librdkafka.svg");
    producer_vs_librdkafka(&rows, &out)?;
    println!("wrote {}", out.display());
    Ok(())
}

/// A CSV file with a header line and no quoted fields, as rows of
/// (column name, value) that `Row::get` reads by name.
fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = match lines.next() {
        Some(h) => h.split(',').map(|c| c.trim().to_owned()).collect(),
        None => return Err(format!("{}: empty", path.display()).into()),
    };
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let fields: Vec<String> = line.split(',').map(|c| c.trim().to_owned()).collect();
        if fields.len() != header.len() {
            return Err(format!(
                "{}: line {}: {} fields, header has {}",
                path.display(),
                i + 2,
                fields.len(),
                header.len()
            )
            .into());
        }
        rows.push(Row {
            fields: header.iter().cloned().zip(fields).collect(),
        });
    }
    Ok(rows)
}

#[derive(Debug)]
struct Row {
    fields: Vec<(String, String)>,
}

impl Row {
    fn get(&self, column: &str) -> Result<&str> {
        self.fields
            .iter()
            .find(|(name, _)| name == column)
            .map(|(_, value)| value.as_str())
            .ok_or_else(|| format!("no column {column}").into())
    }

    fn num(&self, column: &str) -> Result<f64> {
        let v = self.get(column)?;
        v.parse()
            .map_err(|_| format!("{column}: not a number: {v:?}").into())
    }

    fn opt_num(&self, column: &str) -> Result<Option<f64>> {
        match self.get(column)? {
            "" => Ok(None),
            _ => self.num(column).map(Some),
        }
    }
}

/// One bar: its median, and the single values behind it when recorded.
#[derive(Debug)]
struct Bar {
    median: f64,
    low: Option<f64>,
    high: Option<f64>,
    points: Vec<f64>,
}

impl Bar {
    fn top(&self) -> f64 {
        self.high.unwrap_or(self.median).max(self.median)
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Values in first-seen order, without repeats.
fn distinct<'r>(rows: &'r [Row], column: &str) -> Result<Vec<&'r str>> {
    let mut seen = Vec::new();
    for row in rows {
        let v = row.get(column)?;
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    Ok(seen)
}

fn forwarder_vs_peers(rows: &[Row], out: &Path) -> Result<()> {
    let measurements = distinct(rows, "measurement")?;
    let servers = distinct(rows, "server")?;
    let colors = [OURS, PEER, PEER_ALT];

    // groups[m][s]: the bar of server s in measurement m.
    let mut groups = Vec::new();
    let mut captions = Vec::new();
    for m in &measurements {
        let in_m: Vec<&Row> = rows
            .iter()
            .filter(|r| r.get("measurement").ok() == Some(*m))
            .collect();
        let first = in_m[0];
        let mut caption = format!(
            "{} rounds, load {}",
            first.get("rounds")?,
            first.get("load_average")?
        );
        if in_m.iter().all(|r| r.get("kind").ok() == Some("median")) {
            caption.push_str(", medians only");
        }
        captions.push(caption);
        let mut bars = Vec::new();
        for s in &servers {
            let mut points = Vec::new();
            let mut recorded_median = None;
            for r in in_m.iter().filter(|r| r.get("server").ok() == Some(*s)) {
                match r.get("kind")? {
                    "run" => points.push(r.num("cpu_s_per_million_events")?),
                    "median" => recorded_median = Some(r.num("cpu_s_per_million_events")?),
                    k => return Err(format!("kind {k:?}: expected run or median").into()),
                }
            }
            let bar = match (recorded_median, points.is_empty()) {
                (Some(median), true) => Bar {
                    median,
                    low: None,
                    high: None,
                    points,
                },
                (None, false) => Bar {
                    median: median(&points),
                    low: points.iter().copied().reduce(f64::min),
                    high: points.iter().copied().reduce(f64::max),
                    points,
                },
                _ => {
                    return Err(
                        format!("measurement {m}, {s}: give either runs or one median").into(),
                    )
                }
            };
            bars.push(bar);
        }
        groups.push(bars);
    }

    let y_max = groups.iter().flatten().map(Bar::top).fold(0.0, f64::max) * 1.45;
    let root = SVGBackend::new(out, (860, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(70);
    title_block(
        &title,
        "Forwarder end to end: CPU per event against peer pipelines (lower is better)",
        &format!("{XEON}; 500-event /v1/batch bodies, 32 connections"),
    )?;

    let n = groups.len() as f64;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(20)
        .margin_right(20)
        .margin_bottom(10)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("CPU µs per event (CPU-s per million events)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;

    let width = 0.8 / servers.len() as f64;
    for (g, bars) in groups.iter().enumerate() {
        let ours = bars[0].median;
        for (s, bar) in bars.iter().enumerate() {
            let x = g as f64 - 0.4 + width * (s as f64 + 0.5);
            let label = if s == 0 {
                format!("{:.2}", bar.median)
            } else {
                format!("{:.2} ({:.1}×)", bar.median, bar.median / ours)
            };
            draw_bar(
                &mut chart,
                x,
                width * 0.85,
                bar,
                colors[s % colors.len()],
                &label,
            )?;
        }
        let (px, py) = chart.backend_coord(&(g as f64, 0.0));
        let style = TextStyle::from((FONT, 14).into_font())
            .color(&INK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            format!("measurement {}", measurements[g]),
            (px, py + 8),
            style,
        ))?;
        let small = TextStyle::from((FONT, 13).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(captions[g].clone(), (px, py + 26), small))?;
    }

    let names: Vec<String> = servers
        .iter()
        .map(|s| match *s {
            "forwarder" => "forwarder (ours)".to_owned(),
            "peer raw" => "peer raw: hyper + serde_json RawValue + librdkafka".to_owned(),
            "peer tree" => "peer tree: hyper + serde_json Value + librdkafka".to_owned(),
            other => other.to_owned(),
        })
        .collect();
    let corner = chart.backend_coord(&(-0.5, y_max));
    let note =
        "bar: median; dots: single runs, whisker: their range; ×: against ours, same measurement";
    legend(&root, corner, &names, &colors, note)?;
    root.present()?;
    Ok(())
}

fn producer_vs_librdkafka(rows: &[Row], out: &Path) -> Result<()> {
    // One group per (value size, record count), in file order.
    let mut keys: Vec<(String, String, String)> = Vec::new();
    for r in rows {
        let key = (
            r.get("value")?.to_owned(),
            r.get("records")?.to_owned(),
            r.get("rounds")?.to_owned(),
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let clients: Vec<&str> = distinct(rows, "client")?
        .into_iter()
        .filter(|c| *c != "librdkafka")
        .collect();
    let colors = [OURS, OURS_ALT, PEER];

    let mut groups = Vec::new();
    for (value, records, rounds) in &keys {
        let in_g: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.get("value").ok() == Some(value.as_str())
                    && r.get("records").ok() == Some(records.as_str())
            })
            .collect();
        let mut bars = Vec::new();
        let mut cpu = Vec::new();
        for c in &clients {
            let r = in_g
                .iter()
                .find(|r| r.get("client").ok() == Some(*c))
                .ok_or_else(|| format!("{value}, {records} records: no row for {c}"))?;
            bars.push(Bar {
                median: r.num("ratio_cpu")?,
                low: r.opt_num("ratio_cpu_min")?,
                high: r.opt_num("ratio_cpu_max")?,
                points: Vec::new(),
            });
            cpu.push(format!("{:.2}", r.num("cpu_us_per_record")?));
        }
        let theirs = in_g
            .iter()
            .find(|r| r.get("client").ok() == Some("librdkafka"))
            .ok_or_else(|| format!("{value}, {records} records: no librdkafka row"))?
            .num("cpu_us_per_record")?;
        let caption = format!("{value} values, {} records", count(records)?);
        let detail = [
            format!("µs/record: ours {}", cpu.join(" / ")),
            format!("librdkafka {theirs:.2}; {rounds} rounds"),
        ];
        groups.push((caption, detail, bars));
    }

    let y_max = groups
        .iter()
        .flat_map(|g| g.2.iter())
        .map(Bar::top)
        .fold(0.0, f64::max)
        * 1.45;
    let root = SVGBackend::new(out, (960, 540)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(70);
    title_block(
        &title,
        "Producer: records per CPU-second against librdkafka 2.12.1 (higher is better)",
        &format!("{XEON}; acks=all, idempotent, linger.ms=5, 8 partitions"),
    )?;

    let n = groups.len() as f64;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(20)
        .margin_right(20)
        .margin_bottom(10)
        .x_label_area_size(66)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..y_max)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("records per CPU-second, × librdkafka's")
        .y_label_formatter(&|v| format!("{v:.0}×"))
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 14))
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;

    chart.draw_series(std::iter::once(PathElement::new(
        vec![(-0.5, 1.0), (n - 0.5, 1.0)],
        ShapeStyle::from(&PEER).stroke_width(2),
    )))?;

    let width = 0.7 / clients.len() as f64;
    for (g, (caption, detail, bars)) in groups.iter().enumerate() {
        for (c, bar) in bars.iter().enumerate() {
            let x = g as f64 - 0.35 + width * (c as f64 + 0.5);
            draw_bar(
                &mut chart,
                x,
                width * 0.85,
                bar,
                colors[c % colors.len()],
                &format!("{:.2}×", bar.median),
            )?;
        }
        let (px, py) = chart.backend_coord(&(g as f64, 0.0));
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&INK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(caption.clone(), (px, py + 8), style))?;
        let small = TextStyle::from((FONT, 12).into_font())
            .color(&GREY)
            .pos(Pos::new(HPos::Center, VPos::Top));
        for (i, line) in detail.iter().enumerate() {
            let y = py + 26 + 17 * i as i32;
            root.draw(&Text::new(line.clone(), (px, y), small.clone()))?;
        }
    }

    let mut names: Vec<String> = clients
        .iter()
        .map(|c| {
            c.strip_prefix("ours ")
                .map_or_else(|| (*c).to_owned(), |e| format!("ours, {e}"))
        })
        .collect();
    names.push("librdkafka = 1×: its own records per CPU-second".to_owned());
    let corner = chart.backend_coord(&(-0.5, y_max));
    let note = "bar: median of the rounds' ratios; whisker: lowest to highest round";
    legend(&root, corner, &names, &colors, note)?;
    root.present()?;
    Ok(())
}

/// "1000000" as "1 M", "300000" as "300 k".
fn count(records: &str) -> Result<String> {
    let n: u64 = records
        .parse()
        .map_err(|_| format!("records: not a number: {records:?}"))?;
    Ok(if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{} M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{} k", n / 1_000)
    } else {
        n.to_string()
    })
}

fn title_block(area: &Area<'_>, title: &str, subtitle: &str) -> Result<()> {
    let (w, _) = area.dim_in_pixel();
    let centre = (w / 2) as i32;
    let style = TextStyle::from((FONT, 19).into_font().style(FontStyle::Bold))
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(title.to_owned(), (centre, 14), style))?;
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&GREY)
        .pos(Pos::new(HPos::Center, VPos::Top));
    area.draw(&Text::new(subtitle.to_owned(), (centre, 42), style))?;
    Ok(())
}

/// A bar centred on `x`, its whisker and single values, and `label` above it.
fn draw_bar(
    chart: &mut Chart<'_, '_>,
    x: f64,
    width: f64,
    bar: &Bar,
    color: RGBColor,
    label: &str,
) -> Result<()> {
    let (x0, x1) = (x - width / 2.0, x + width / 2.0);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x0, 0.0), (x1, bar.median)],
        color.filled(),
    )))?;
    if let (Some(low), Some(high)) = (bar.low, bar.high) {
        let cap = width / 4.0;
        let ink = ShapeStyle::from(&INK).stroke_width(1);
        chart.draw_series([
            PathElement::new(vec![(x, low), (x, high)], ink),
            PathElement::new(vec![(x - cap, low), (x + cap, low)], ink),
            PathElement::new(vec![(x - cap, high), (x + cap, high)], ink),
        ])?;
    }
    chart.draw_series(
        bar.points
            .iter()
            .map(|&p| Circle::new((x, p), 3, ShapeStyle::from(&WHITE).filled().stroke_width(1)))
            .chain(
                bar.points
                    .iter()
                    .map(|&p| Circle::new((x, p), 3, ShapeStyle::from(&INK).stroke_width(1))),
            ),
    )?;
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&INK)
        .pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(std::iter::once(
        EmptyElement::at((x, bar.top())) + Text::new(label.to_owned(), (0, -4), style),
    ))?;
    Ok(())
}

/// A legend box below and right of `corner` (the plotting area's upper left
/// corner, in pixels): one swatch per name, then a line of notes.
fn legend(
    area: &Area<'_>,
    corner: (i32, i32),
    names: &[String],
    colors: &[RGBColor],
    note: &str,
) -> Result<()> {
    let (left, top) = (corner.0 + 16, corner.1 + 12);
    let line = 20;
    let height = line * (names.len() as i32 + 1) + 10;
    let width = 470;
    area.draw(&Rectangle::new(
        [(left, top), (left + width, top + height)],
        ShapeStyle::from(&WHITE.mix(0.9)).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(left, top), (left + width, top + height)],
        ShapeStyle::from(&RGBColor(200, 200, 200)).stroke_width(1),
    ))?;
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&INK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, name) in names.iter().enumerate() {
        let y = top + 14 + line * i as i32;
        area.draw(&Rectangle::new(
            [(left + 10, y - 6), (left + 24, y + 6)],
            colors[i % colors.len()].filled(),
        ))?;
        area.draw(&Text::new(name.clone(), (left + 32, y), style.clone()))?;
    }
    let y = top + 14 + line * names.len() as i32;
    let small = TextStyle::from((FONT, 12).into_font())
        .color(&GREY)
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw(&Text::new(note.to_owned(), (left + 10, y), small))?;
    Ok(())
}
