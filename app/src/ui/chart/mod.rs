//! The telemetry chart of the box view: plotters drawing on a <canvas>, history from the server
//! (downsampled to the canvas width), live points from MQTT.
mod draw;
mod metric_chips;
mod range_picker;
pub mod series;
mod telemetry_chart;

pub use metric_chips::MetricChips;
pub use range_picker::RangePicker;
pub use telemetry_chart::TelemetryChart;

/// Series colours, light and dark variants, shared by the canvas and the metric chips so that a
/// chip shows its line's colour. Chosen for at least 3:1 contrast on the chart background.
pub const SERIES_COLORS_LIGHT: [(u8, u8, u8); 4] =
    [(37, 99, 235), (194, 65, 12), (4, 120, 87), (190, 24, 93)];
pub const SERIES_COLORS_DARK: [(u8, u8, u8); 4] = [
    (96, 165, 250),
    (251, 146, 60),
    (52, 211, 153),
    (244, 114, 182),
];
/// At most this many metrics at once: each gets its own panel, and more would be unreadable on
/// a phone.
pub const MAX_SERIES: usize = 4;

pub fn prefers_dark() -> bool {
    web_sys::window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

pub fn series_color(index: usize) -> (u8, u8, u8) {
    let palette = if prefers_dark() {
        SERIES_COLORS_DARK
    } else {
        SERIES_COLORS_LIGHT
    };
    palette[index % palette.len()]
}
