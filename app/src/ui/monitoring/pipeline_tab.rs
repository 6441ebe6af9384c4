use super::{BoxTable, DeadLetters, HealthTiles, LossHero, SegmentedChoice};
use crate::api::monitoring::{get_pipeline_health, list_dead_letters};
use crate::domain::{DeadLetter, FleetId, HealthWindow, PipelineHealth};
use crate::ui::auth::AuthContext;
use crate::ui::clock::{now_ms, relative_age, Clock};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// Refresh of the pipeline tab while it is open.
const POLL: Duration = Duration::from_secs(10);
/// Dead letters listed.
const DEAD_LETTERS: usize = 100;

fn window_label(w: HealthWindow) -> &'static str {
    match w {
        HealthWindow::Minutes5 => "5 min",
        HealthWindow::Hour1 => "1 h",
        HealthWindow::Hours24 => "24 h",
    }
}

/// The pipeline tab: lost messages first, then the counts of the window, the boxes ranked by
/// loss and the rejected messages (dead letters). Refreshes every 10 s.
#[component]
pub fn PipelineTab(fleet: Signal<Option<FleetId>>) -> impl IntoView {
    let auth = AuthContext::expect();
    let clock = Clock::expect();
    let window = RwSignal::new(HealthWindow::Hour1);
    let health = RwSignal::new(None::<PipelineHealth>);
    let letters = RwSignal::new(None::<Vec<DeadLetter>>);
    let error = RwSignal::new(None::<String>);
    let letters_error = RwSignal::new(None::<String>);
    let updated_at = RwSignal::new(None::<i64>);
    let busy = RwSignal::new(false);

    let refresh = Callback::new(move |()| {
        let (Some(Some(f)), Some(w)) = (fleet.try_get_untracked(), window.try_get_untracked())
        else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let (h, d) = futures::join!(
                get_pipeline_health(f.clone(), w),
                list_dead_letters(Some(f.clone()), DEAD_LETTERS)
            );
            // The fleet or window may have changed while this was loading.
            if fleet.try_get_untracked().flatten().as_ref() != Some(&f)
                || window.try_get_untracked() != Some(w)
            {
                return;
            }
            busy.try_set(false);
            match h {
                Ok(h) => {
                    health.try_set(Some(h));
                    error.try_set(None);
                    updated_at.try_set(Some(now_ms()));
                }
                Err(e) => {
                    error.try_set(Some(auth.message_for(&e)));
                }
            }
            match d {
                Ok(list) => {
                    letters.try_set(Some(list));
                    letters_error.try_set(None);
                }
                Err(e) => {
                    letters_error.try_set(Some(auth.message_for(&e)));
                }
            }
        });
    });
    Effect::new(move |_| {
        fleet.track();
        window.track();
        health.set(None);
        letters.set(None);
        error.set(None);
        refresh.run(());
    });
    if let Ok(handle) = set_interval_with_handle(move || refresh.run(()), POLL) {
        on_cleanup(move || handle.clear());
    }

    let counts = Signal::derive(move || health.with(|h| h.as_ref().map(|h| h.total.clone())));
    let boxes = Signal::derive(move || health.with(|h| h.as_ref().map(|h| h.boxes.clone())));
    let updated = move || {
        updated_at.get().map(|at| {
            format!(
                "Updated {} · refreshes every 10 s",
                relative_age(clock.now.get(), at)
            )
        })
    };
    let windows: Vec<_> = HealthWindow::ALL
        .into_iter()
        .map(|w| (w, w.as_str(), window_label(w)))
        .collect();

    view! {
        <div class="monitor-tab" data-pipeline>
            <div class="monitor-toolbar">
                <SegmentedChoice
                    value=window
                    options=windows
                    label="Window"
                    attribute="data-window"
                    on_choose=Callback::new(move |w| window.set(w))
                />
                <p class="monitor-updated muted" aria-live="off">{updated}</p>
                <button
                    type="button"
                    class="button ghost small"
                    disabled=move || busy.get()
                    on:click=move |_| refresh.run(())
                >
                    "Refresh"
                </button>
            </div>
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show when=move || health.with(Option::is_none) && error.with(Option::is_none)>
                <div class="loading inline" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    "Loading the pipeline's health…"
                </div>
            </Show>
            {move || {
                counts
                    .get()
                    .map(|c| {
                        let label = window_label(window.get_untracked());
                        view! {
                            <LossHero counts=c.clone() window=label />
                            <HealthTiles counts=c />
                        }
                    })
            }}
            {move || {
                boxes
                    .get()
                    .map(|list| {
                        view! {
                            <h2 class="section-title monitor-section">"Boxes with problems"</h2>
                            {if list.is_empty() {
                                view! {
                                    <p class="empty" data-boxes-empty>
                                        "No box of this fleet lost, repeated or sent a rejected message in this window."
                                    </p>
                                }
                                    .into_any()
                            } else {
                                view! { <BoxTable boxes=list /> }.into_any()
                            }}
                        }
                    })
            }}
            <DeadLetters letters=letters error=letters_error />
        </div>
    }
}
