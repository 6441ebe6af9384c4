use super::format::{format_count, format_percent, format_signed};
use crate::domain::PipelineCounts;
use leptos::prelude::*;

/// How bad a loss share is: none, some (under 1 %), or serious.
fn severity(lost: i64, percent: f64) -> &'static str {
    if lost <= 0 {
        "ok"
    } else if percent < 1.0 {
        "warn"
    } else {
        "bad"
    }
}

/// The figure the page is for: how many messages the boxes sent that never arrived.
#[component]
pub fn LossHero(counts: PipelineCounts, window: &'static str) -> impl IntoView {
    let lost = counts.lost.max(0);
    let percent = counts.loss_percent();
    let sent = counts.accepted + lost as u64;
    let level = severity(lost, percent);
    let sentence = if lost > 0 {
        format!(
            "{} of the {} messages the boxes sent in the last {window} never arrived.",
            format_percent(percent),
            format_count(sent)
        )
    } else if sent > 0 {
        format!(
            "Every one of the {} messages sent in the last {window} arrived.",
            format_count(sent)
        )
    } else {
        format!("No message in the last {window}.")
    };
    view! {
        <section
            class=format!("loss-hero loss-{level}")
            aria-labelledby="loss-title"
            data-health-tile="lost"
            data-value=counts.lost
            data-loss-percent=format!("{percent:.3}")
        >
            <h2 id="loss-title" class="loss-label">"Lost messages"</h2>
            <p class="loss-figure">
                <span class="loss-count">{format_signed(counts.lost)}</span>
                <span class="loss-percent">{format_percent(percent)}</span>
            </p>
            <p class="loss-sentence">{sentence}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::severity;

    #[test]
    fn loss_severity() {
        assert_eq!(severity(0, 0.0), "ok");
        assert_eq!(severity(-2, 0.0), "ok");
        assert_eq!(severity(1, 0.2), "warn");
        assert_eq!(severity(50, 50.0), "bad");
    }
}
