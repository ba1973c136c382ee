//! `soundscribe plot RUN_DIR`: training loss and validation metrics from `log.jsonl`,
//! drawn to a PNG with plotters (text in DejaVu Sans from Debian's fonts-dejavu-core).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use plotters::prelude::*;

use super::log::LOG_FILE;

/// Where Debian keeps the font the plot's text is drawn in.
pub const FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

/// Series read from a run's log: name → (step, value) points.
#[derive(Debug, Default, PartialEq)]
pub struct Curves {
    /// Training losses (`loss`, `ce`, `infonce`, `seq_kd`, `enc_kd`).
    pub train: BTreeMap<String, Vec<(f64, f64)>>,
    /// Validation metrics.
    pub val: BTreeMap<String, Vec<(f64, f64)>>,
}

/// Reads `log.jsonl`; a malformed line is an error naming the file and line.
pub fn read_curves(run_dir: &Path) -> anyhow::Result<Curves> {
    let path = run_dir.join(LOG_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let mut c = Curves::default();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), i + 1))?;
        let step = v["step"]
            .as_f64()
            .ok_or_else(|| anyhow!("{}:{}: no step", path.display(), i + 1))?;
        match v["kind"].as_str() {
            Some("train") => {
                for k in ["loss", "ce", "infonce", "seq_kd", "enc_kd"] {
                    if let Some(x) = v[k].as_f64() {
                        c.train.entry(k.to_owned()).or_default().push((step, x));
                    }
                }
            }
            Some("val") => {
                if let Some(m) = v["metrics"].as_object() {
                    for (k, x) in m {
                        if let Some(x) = x.as_f64() {
                            c.val.entry(k.clone()).or_default().push((step, x));
                        }
                    }
                }
            }
            _ => bail!("{}:{}: unknown record kind", path.display(), i + 1),
        }
    }
    Ok(c)
}

fn range(series: &BTreeMap<String, Vec<(f64, f64)>>) -> Option<((f64, f64), (f64, f64))> {
    let pts: Vec<&(f64, f64)> = series
        .values()
        .flatten()
        .filter(|p| p.1.is_finite())
        .collect();
    if pts.is_empty() {
        return None;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (x, y) in pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    Some(((x0, x1), (y0 - pad, y1 + pad)))
}

/// Draws the run's curves to `out` (PNG, 1200 × 500: losses left, metrics right).
pub fn plot(run_dir: &Path, out: &Path) -> anyhow::Result<()> {
    let curves = read_curves(run_dir)?;
    if curves.train.is_empty() {
        bail!(
            "{}: no training steps logged yet",
            run_dir.join(LOG_FILE).display()
        );
    }
    let font = std::fs::read(FONT)
        .with_context(|| format!("{FONT}: the plot's font (Debian package fonts-dejavu-core)"))?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| anyhow!("{FONT}: not a usable TrueType font"))?;
    let root = BitMapBackend::new(out, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    for (area, series, title) in [
        (&left, &curves.train, "training loss"),
        (&right, &curves.val, "validation"),
    ] {
        let Some(((x0, x1), (y0, y1))) = range(series) else {
            area.titled(&format!("{title}: no data"), ("sans-serif", 20))?;
            continue;
        };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart.configure_mesh().x_desc("update").draw()?;
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = colors[i % colors.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()
        .with_context(|| format!("{}: cannot write", out.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_are_read_and_bad_lines_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(LOG_FILE),
            "{\"kind\":\"train\",\"step\":1,\"loss\":2.5,\"ce\":2.0}\n{\"kind\":\"val\",\"step\":1,\"metrics\":{\"cider_d\":0.1}}\n",
        )
        .unwrap();
        let c = read_curves(dir.path()).unwrap();
        assert_eq!(c.train["loss"], vec![(1.0, 2.5)]);
        assert_eq!(c.val["cider_d"], vec![(1.0, 0.1)]);
        std::fs::write(
            dir.path().join(LOG_FILE),
            "{\"kind\":\"train\",\"step\":1}\nnot json\n",
        )
        .unwrap();
        let e = format!("{:#}", read_curves(dir.path()).unwrap_err());
        assert!(e.contains("log.jsonl:2"), "{e}");
    }
}
