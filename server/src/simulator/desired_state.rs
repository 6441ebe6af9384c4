//! How a simulated box honours its desired state: it applies the keys it knows (`setpoint_c`,
//! `interval_s`), leaves others alone (they stay in the delta, as on a real box that lacks the
//! feature), and reports its actual state with the version it reconciled to.
use super::BoxSignals;
use app::domain::{ShadowDelta, ShadowDoc, ShadowReport};
use serde_json::json;
use std::time::Duration;

/// The state a box reports: what it really runs with.
pub fn report(
    signals: &BoxSignals,
    period: Duration,
    firmware: &str,
    version: Option<u64>,
) -> Vec<u8> {
    let reported: ShadowDoc = [
        ("setpoint_c".to_owned(), json!(signals.setpoint_c)),
        ("interval_s".to_owned(), json!(period.as_secs_f64())),
        ("fw".to_owned(), json!(firmware)),
    ]
    .into_iter()
    .collect();
    serde_json::to_vec(&ShadowReport { reported, version }).unwrap_or_default()
}

/// Applies a desired-state message; returns its version and the new sending period, if it
/// changed. `None` for a message that is not a desired state.
pub fn reconcile(
    payload: &[u8],
    signals: &mut BoxSignals,
    period: Duration,
) -> Option<(u64, Duration)> {
    let msg: ShadowDelta = serde_json::from_slice(payload).ok()?;
    let mut new_period = period;
    for (key, value) in &msg.delta {
        match (key.as_str(), value.as_f64()) {
            ("setpoint_c", Some(v)) if (-40.0..=40.0).contains(&v) => signals.setpoint_c = v,
            ("interval_s", Some(s)) if (0.001..=3600.0).contains(&s) => {
                new_period = Duration::from_secs_f64(s)
            }
            _ => tracing::debug!(
                key,
                "simulated box ignores a desired key it does not support"
            ),
        }
    }
    Some((msg.version, new_period))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_are_applied_and_reported_with_the_version() {
        let mut signals = BoxSignals::new(1);
        let msg = json!({"version": 7, "desired": {}, "delta": {"setpoint_c": -18, "interval_s": 5, "eco": true}});
        let (version, period) = reconcile(
            msg.to_string().as_bytes(),
            &mut signals,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!((version, period), (7, Duration::from_secs(5)));
        assert_eq!(signals.setpoint_c, -18.0);
        let r: ShadowReport =
            serde_json::from_slice(&report(&signals, period, "1.4.2", Some(7))).unwrap();
        assert_eq!(r.version, Some(7));
        assert_eq!(r.reported["setpoint_c"], json!(-18.0));
        assert_eq!(r.reported["interval_s"], json!(5.0));
        assert!(
            !r.reported.contains_key("eco"),
            "unsupported keys are not claimed"
        );
    }

    #[test]
    fn out_of_range_values_and_garbage_are_not_applied() {
        let mut signals = BoxSignals::new(1);
        let before = signals.setpoint_c;
        let msg =
            json!({"version": 2, "desired": {}, "delta": {"setpoint_c": 400, "interval_s": 0}});
        let (_, period) = reconcile(
            msg.to_string().as_bytes(),
            &mut signals,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(signals.setpoint_c, before);
        assert_eq!(period, Duration::from_secs(1));
        assert!(reconcile(b"not json", &mut signals, period).is_none());
    }
}
