//! Wall-clock time for the console: one shared ticking signal, and the formats of times.
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsValue;

/// The current time in milliseconds, updated every second, so that "12 s ago" labels refresh
/// without each row running its own timer.
#[derive(Clone, Copy)]
pub struct Clock {
    pub now: ReadSignal<i64>,
}

impl Clock {
    pub fn provide() {
        let (now, set_now) = signal(now_ms());
        set_interval(move || set_now.set(now_ms()), Duration::from_secs(1));
        provide_context(Clock { now });
    }

    pub fn expect() -> Self {
        expect_context::<Clock>()
    }
}

pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// "12 s ago", "4 min ago", "3 h ago", "2 d ago". A time slightly in the future (clock skew
/// between browser and server) reads as "0 s ago".
pub fn relative_age(now: i64, then: i64) -> String {
    let secs = (now - then).max(0) / 1000;
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3_599 => format!("{} min ago", secs / 60),
        3_600..=86_399 => format!("{} h ago", secs / 3_600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// The time in the user's locale and time zone, for tooltips.
pub fn local_date_time(ms: i64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("default", &JsValue::UNDEFINED))
}

/// A time-axis label: `14:05` for windows up to a day, `Tue 14:00` beyond.
pub fn axis_time(ms: i64, window_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    let date = js_sys::Date::new(&JsValue::from_f64(ms as f64));
    let clock = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    if window_ms > 24 * 3_600_000 {
        format!("{} {clock}", DAYS[date.get_day() as usize % 7])
    } else {
        clock
    }
}

#[cfg(test)]
mod tests {
    use super::relative_age;

    #[test]
    fn relative_ages_read_naturally() {
        assert_eq!(relative_age(12_000, 0), "12 s ago");
        assert_eq!(relative_age(0, 5_000), "0 s ago");
        assert_eq!(relative_age(125_000, 0), "2 min ago");
        assert_eq!(relative_age(7_200_000, 0), "2 h ago");
        assert_eq!(relative_age(3 * 86_400_000, 0), "3 d ago");
    }
}
