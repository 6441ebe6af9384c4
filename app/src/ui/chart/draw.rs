//! Drawing the chart with plotters on a canvas sized in device pixels.
use super::series::{y_bounds, ChartSeries};
use super::{prefers_dark, series_color};
use crate::ui::clock::axis_time;
use crate::ui::device::metric_format::{format_number, unit_for};
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

struct Palette {
    background: RGBColor,
    grid: RGBColor,
    axis: RGBColor,
    text: RGBColor,
}

fn palette() -> Palette {
    if prefers_dark() {
        Palette {
            background: RGBColor(22, 27, 34),
            grid: RGBColor(45, 51, 59),
            axis: RGBColor(99, 110, 123),
            text: RGBColor(173, 186, 199),
        }
    } else {
        Palette {
            background: RGBColor(255, 255, 255),
            grid: RGBColor(229, 231, 235),
            axis: RGBColor(156, 163, 175),
            text: RGBColor(75, 85, 99),
        }
    }
}

/// Matches the canvas's backing store to its CSS size times the device pixel ratio, so lines
/// and text are sharp on high-density phone screens. Returns the ratio and the CSS width.
fn fit_to_device_pixels(canvas: &HtmlCanvasElement) -> (f64, u32) {
    let ratio = web_sys::window()
        .map_or(1.0, |w| w.device_pixel_ratio())
        .clamp(1.0, 4.0);
    let css_width = canvas.client_width().max(1) as u32;
    let css_height = canvas.client_height().max(1) as u32;
    let width = (f64::from(css_width) * ratio).round() as u32;
    let height = (f64::from(css_height) * ratio).round() as u32;
    // Setting a size clears the canvas even when unchanged; only touch it when it differs.
    if canvas.width() != width {
        canvas.set_width(width);
    }
    if canvas.height() != height {
        canvas.set_height(height);
    }
    (ratio, css_width)
}

/// Draws one panel per series, stacked, sharing the time axis `window`. Returns how many points
/// were drawn.
pub fn draw_chart(
    canvas: &HtmlCanvasElement,
    series: &[ChartSeries],
    window: (i64, i64),
) -> Result<usize, String> {
    let (ratio, css_width) = fit_to_device_pixels(canvas);
    let px = |css: f64| (css * ratio).round() as u32;
    let colors = palette();
    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| "the browser gave no 2D canvas context".to_owned())?;
    let root = backend.into_drawing_area();
    root.fill(&colors.background).map_err(|e| e.to_string())?;
    if series.is_empty() {
        root.present().map_err(|e| e.to_string())?;
        return Ok(0);
    }

    let (from, to) = window;
    let label_font = ("sans-serif", 11.0 * ratio).into_font().color(&colors.text);
    let x_labels = (css_width / 110).clamp(2, 8) as usize;
    let time_label = move |ms: &i64| axis_time(*ms, to - from);
    let no_label = |_: &i64| String::new();
    let value_label = |v: &f64| format_number(*v);

    let panels = root.split_evenly((series.len(), 1));
    let mut drawn = 0;
    for (index, (panel, one)) in panels.iter().zip(series).enumerate() {
        let last = index + 1 == series.len();
        let points: Vec<(i64, f64)> = one
            .points
            .iter()
            .filter(|p| p.ts >= from && p.ts <= to && p.value.is_finite())
            .map(|p| (p.ts, p.value))
            .collect();
        let (low, high) = y_bounds(points.iter().map(|(_, v)| *v));
        let mut chart = ChartBuilder::on(panel)
            .margin_top(px(20.0))
            .margin_right(px(14.0))
            .margin_bottom(px(if last { 2.0 } else { 6.0 }))
            .x_label_area_size(if last { px(24.0) } else { 0 })
            .y_label_area_size(px(48.0))
            .build_cartesian_2d(from..to, low..high)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(x_labels)
            .y_labels(4)
            .x_label_formatter(if last { &time_label } else { &no_label })
            .y_label_formatter(&value_label)
            .label_style(label_font.clone())
            .axis_style(colors.axis)
            .bold_line_style(colors.grid)
            .light_line_style(TRANSPARENT)
            .set_all_tick_mark_size(px(3.0))
            .draw()
            .map_err(|e| e.to_string())?;

        let (r, g, b) = series_color(index);
        let color = RGBColor(r, g, b);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(px(2.0)),
            ))
            .map_err(|e| e.to_string())?;
        // The newest point gets a dot: it is where live data arrives, and a lone point would
        // otherwise be invisible.
        if let Some(newest) = points.last() {
            chart
                .draw_series(std::iter::once(Circle::new(
                    *newest,
                    px(3.5),
                    color.filled(),
                )))
                .map_err(|e| e.to_string())?;
        }

        let title = match unit_for(&one.metric) {
            Some(unit) => format!("{} ({unit})", one.metric),
            None => one.metric.clone(),
        };
        let title_font = ("sans-serif", 12.0 * ratio).into_font().color(&color);
        panel
            .draw_text(&title, &title_font, (px(52.0) as i32, px(4.0) as i32))
            .map_err(|e| e.to_string())?;
        drawn += points.len();
    }
    root.present().map_err(|e| e.to_string())?;
    Ok(drawn)
}
