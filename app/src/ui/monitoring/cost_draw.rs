//! Drawing the cost chart with plotters on a canvas sized in device pixels (as the telemetry
//! chart does): one bar per hour (per day for the month), and for the month the projection as a
//! dashed line at the projected daily average, across the whole month.
use super::format::format_usd;
use crate::domain::{CostPeriod, CostReport};
use crate::ui::chart::{prefers_dark, series_color};
use crate::ui::clock::axis_time;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The time axis of a report and the width of one bar: the whole month for the month (so that
/// the days to come are visible), the report's span otherwise.
pub fn time_frame(report: &CostReport) -> (i64, i64, i64) {
    let step = if report.period == CostPeriod::Month {
        DAY_MS
    } else {
        HOUR_MS
    };
    let (mut from, mut to) = match &report.projection {
        Some(p) => (p.month_start, p.month_end),
        None => (report.from, report.to),
    };
    if let (Some(first), Some(last)) = (report.series.first(), report.series.last()) {
        from = from.min(first.at);
        to = to.max(last.at + step);
    }
    if to <= from {
        to = from + step;
    }
    (from, to, step)
}

/// The projected cost of one day of the month, when the report has a projection.
pub fn projected_per_day(report: &CostReport) -> Option<f64> {
    report.projection.as_ref().and_then(|p| {
        let days = (p.month_end - p.month_start) as f64 / DAY_MS as f64;
        (days > 0.0 && p.projected_usd.is_finite()).then(|| p.projected_usd / days)
    })
}

/// The top of the value axis: the highest bar or projection, with headroom; never zero.
pub fn y_top(report: &CostReport) -> f64 {
    let highest = report
        .series
        .iter()
        .map(|p| p.cost_usd)
        .chain(projected_per_day(report))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    if highest > 0.0 {
        highest * 1.18
    } else {
        0.01
    }
}

fn fit_to_device_pixels(canvas: &HtmlCanvasElement) -> (f64, u32) {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(1.0, 4.0);
    let css_width = canvas.client_width().max(1) as u32;
    let css_height = canvas.client_height().max(1) as u32;
    let width = (f64::from(css_width) * ratio).round() as u32;
    let height = (f64::from(css_height) * ratio).round() as u32;
    if canvas.width() != width {
        canvas.set_width(width);
    }
    if canvas.height() != height {
        canvas.set_height(height);
    }
    (ratio, css_width)
}

/// Draws the report's series; returns how many bars were drawn.
pub fn draw_costs(canvas: &HtmlCanvasElement, report: &CostReport) -> Result<usize, String> {
    let (ratio, css_width) = fit_to_device_pixels(canvas);
    let px = |css: f64| (css * ratio).round() as u32;
    let dark = prefers_dark();
    let (background, grid, axis, text) = if dark {
        (
            RGBColor(22, 27, 34),
            RGBColor(45, 51, 59),
            RGBColor(99, 110, 123),
            RGBColor(173, 186, 199),
        )
    } else {
        (
            RGBColor(255, 255, 255),
            RGBColor(229, 231, 235),
            RGBColor(156, 163, 175),
            RGBColor(75, 85, 99),
        )
    };
    let (r, g, b) = series_color(0);
    let bar = RGBColor(r, g, b);
    let (r, g, b) = series_color(1);
    let projection = RGBColor(r, g, b);

    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| "the browser gave no 2D canvas context".to_owned())?;
    let root = backend.into_drawing_area();
    root.fill(&background).map_err(|e| e.to_string())?;

    let (from, to, step) = time_frame(report);
    let top = y_top(report);
    let label_font = ("sans-serif", 11.0 * ratio).into_font().color(&text);
    let x_labels = (css_width / 90).clamp(2, 8) as usize;
    let time_label = move |ms: &i64| {
        if step == DAY_MS {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(*ms as f64));
            format!("{}", date.get_date())
        } else {
            axis_time(*ms, to - from)
        }
    };
    let value_label = |v: &f64| format_usd(*v);
    let mut chart = ChartBuilder::on(&root)
        .margin_top(px(if report.projection.is_some() {
            24.0
        } else {
            12.0
        }))
        .margin_right(px(14.0))
        .margin_bottom(px(2.0))
        .x_label_area_size(px(24.0))
        .y_label_area_size(px(64.0))
        .build_cartesian_2d(from..to, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(x_labels)
        .y_labels(4)
        .x_label_formatter(&time_label)
        .y_label_formatter(&value_label)
        .label_style(label_font.clone())
        .axis_style(axis)
        .bold_line_style(grid)
        .light_line_style(TRANSPARENT)
        .set_all_tick_mark_size(px(3.0))
        .draw()
        .map_err(|e| e.to_string())?;

    // A thin gap between bars, a tenth of a step.
    let gap = step / 10;
    let bars: Vec<_> = report
        .series
        .iter()
        .filter(|p| p.cost_usd.is_finite() && p.at + step > from && p.at < to)
        .map(|p| {
            Rectangle::new(
                [
                    (p.at.max(from) + gap / 2, 0.0),
                    ((p.at + step).min(to) - gap / 2, p.cost_usd.max(0.0)),
                ],
                bar.filled(),
            )
        })
        .collect();
    let drawn = bars.len();
    chart.draw_series(bars).map_err(|e| e.to_string())?;

    if let (Some(per_day), Some(p)) = (projected_per_day(report), &report.projection) {
        chart
            .draw_series(DashedLineSeries::new(
                [(from, per_day), (to, per_day)],
                px(6.0),
                px(4.0),
                projection.stroke_width(px(2.0)),
            ))
            .map_err(|e| e.to_string())?;
        // A phone has room for the total only.
        let title = if css_width < 480 {
            format!(
                "- - projected {} for the month",
                format_usd(p.projected_usd)
            )
        } else {
            format!(
                "- - projected {} for the month ({} a day)",
                format_usd(p.projected_usd),
                format_usd(per_day)
            )
        };
        let title_font = ("sans-serif", 12.0 * ratio).into_font().color(&projection);
        root.draw_text(&title, &title_font, (px(68.0) as i32, px(4.0) as i32))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(drawn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CostPoint, FleetId, MonthProjection};

    fn report(period: CostPeriod, series: Vec<CostPoint>) -> CostReport {
        CostReport {
            fleet: FleetId::parse("north").unwrap(),
            period,
            from: 10 * HOUR_MS,
            to: 34 * HOUR_MS,
            region: "eu-west-1".into(),
            prices_as_of: "2026-11-01".into(),
            assumptions: vec![],
            lines: vec![],
            total_usd: 0.0,
            boxes: 0,
            per_box_usd: None,
            series,
            projection: None,
        }
    }

    #[test]
    fn frames_span_the_report_or_the_month() {
        let day = report(
            CostPeriod::Day,
            vec![CostPoint {
                at: 33 * HOUR_MS,
                cost_usd: 0.5,
            }],
        );
        assert_eq!(time_frame(&day), (10 * HOUR_MS, 34 * HOUR_MS, HOUR_MS));
        assert!((y_top(&day) - 0.59).abs() < 1e-9);
        assert_eq!(y_top(&report(CostPeriod::Hour, vec![])), 0.01);

        let mut month = report(CostPeriod::Month, vec![]);
        month.projection = Some(MonthProjection {
            month_start: 0,
            month_end: 30 * DAY_MS,
            month_to_date_usd: 1.0,
            projected_usd: 30.0,
            method: "linear".into(),
        });
        assert_eq!(time_frame(&month), (0, 30 * DAY_MS, DAY_MS));
        assert_eq!(projected_per_day(&month), Some(1.0));
        assert!((y_top(&month) - 1.18).abs() < 1e-9);
    }
}
