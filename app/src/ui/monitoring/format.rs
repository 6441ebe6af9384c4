//! Number formats of the monitoring page: counts, percentages, latencies and money.

/// `12,345`: thousands separated, so that counts of a busy fleet read at a glance.
pub fn format_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed count (lost messages net of late arrivals can be negative for a moment).
pub fn format_signed(n: i64) -> String {
    if n < 0 {
        format!("−{}", format_count(n.unsigned_abs()))
    } else {
        format_count(n as u64)
    }
}

/// `50 %`, `2.5 %`, `0.12 %`: more decimals for small shares, none for whole ones.
pub fn format_percent(p: f64) -> String {
    if !p.is_finite() {
        return "–".into();
    }
    let text = if p == 0.0 || p >= 10.0 {
        format!("{p:.0}")
    } else if p >= 1.0 {
        format!("{p:.1}")
    } else if p >= 0.01 {
        format!("{p:.2}")
    } else {
        return "< 0.01 %".into();
    };
    format!("{} %", trim_zeros(&text))
}

/// `142 ms`, `1.2 s`, `3.4 min`.
pub fn format_latency(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "–".into()
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{} s", trim_zeros(&format!("{:.1}", ms / 1_000.0)))
    } else {
        format!("{} min", trim_zeros(&format!("{:.1}", ms / 60_000.0)))
    }
}

/// Dollars with as many decimals as the amount needs: `$12.34`, `$0.42`, `$0.0042`,
/// `$1,234.50`. Amounts under a millionth read `< $0.000001`.
pub fn format_usd(amount: f64) -> String {
    if !amount.is_finite() {
        return "–".into();
    }
    let sign = if amount < 0.0 { "−" } else { "" };
    let a = amount.abs();
    if a == 0.0 {
        return "$0.00".into();
    }
    if a < 0.000_001 {
        return format!("{sign}< $0.000001");
    }
    if a >= 1.0 {
        let cents = (a * 100.0).round() as u64;
        return format!("{sign}${}.{:02}", format_count(cents / 100), cents % 100);
    }
    // Two significant digits, at least two decimals.
    let decimals = ((-a.log10()).ceil() as usize + 1).clamp(2, 6);
    let text = format!("{a:.decimals$}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut fraction = fraction.trim_end_matches('0').to_owned();
    while fraction.len() < 2 {
        fraction.push('0');
    }
    format!("{sign}${whole}.{fraction}")
}

/// A quantity of a cost line: `1,234,567`, `12.5`, `0.25`.
pub fn format_quantity(q: f64) -> String {
    if !q.is_finite() {
        return "–".into();
    }
    if q.fract() == 0.0 && q.abs() < 1e15 {
        return format_signed(q as i64);
    }
    if q.abs() >= 1_000.0 {
        return format_signed(q.round() as i64);
    }
    trim_zeros(&format!("{q:.3}"))
}

/// `1`, `1K`, `1M`, `1B`: the "per" of a unit price.
pub fn format_per_units(n: f64) -> String {
    let (value, suffix) = if n >= 1e9 {
        (n / 1e9, "B")
    } else if n >= 1e6 {
        (n / 1e6, "M")
    } else if n >= 1e3 {
        (n / 1e3, "K")
    } else {
        (n, "")
    };
    format!("{}{suffix}", trim_zeros(&format!("{value:.2}")))
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
        assert_eq!(format_signed(-1_500), "−1,500");
    }

    #[test]
    fn percentages_keep_useful_decimals() {
        assert_eq!(format_percent(0.0), "0 %");
        assert_eq!(format_percent(50.0), "50 %");
        assert_eq!(format_percent(49.96), "50 %");
        assert_eq!(format_percent(2.54), "2.5 %");
        assert_eq!(format_percent(0.123), "0.12 %");
        assert_eq!(format_percent(0.001), "< 0.01 %");
    }

    #[test]
    fn latencies_change_unit() {
        assert_eq!(format_latency(142.4), "142 ms");
        assert_eq!(format_latency(1_200.0), "1.2 s");
        assert_eq!(format_latency(2_000.0), "2 s");
        assert_eq!(format_latency(90_000.0), "1.5 min");
    }

    #[test]
    fn money_has_more_decimals_when_small() {
        assert_eq!(format_usd(0.0), "$0.00");
        assert_eq!(format_usd(12.345), "$12.35");
        assert_eq!(format_usd(1_234.5), "$1,234.50");
        assert_eq!(format_usd(0.42), "$0.42");
        assert_eq!(format_usd(0.05), "$0.05");
        assert_eq!(format_usd(0.0042), "$0.0042");
        assert_eq!(format_usd(0.004_234), "$0.0042");
        assert_eq!(format_usd(0.000_012), "$0.000012");
        assert_eq!(format_usd(0.000_000_1), "< $0.000001");
        assert_eq!(format_usd(-2.5), "−$2.50");
    }

    #[test]
    fn quantities_and_unit_steps() {
        assert_eq!(format_quantity(1_234_567.0), "1,234,567");
        assert_eq!(format_quantity(12.5), "12.5");
        assert_eq!(format_quantity(0.25), "0.25");
        assert_eq!(format_quantity(1_500.4), "1,500");
        assert_eq!(format_per_units(1.0), "1");
        assert_eq!(format_per_units(1_000_000.0), "1M");
        assert_eq!(format_per_units(1_500.0), "1.5K");
    }
}
