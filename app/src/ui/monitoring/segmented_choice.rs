use leptos::prelude::*;

/// A choice among a few values as toggle buttons, styled like the chart's range picker. Each
/// button carries `<attribute>="<value's name>"` for tests.
#[component]
pub fn SegmentedChoice<T>(
    #[prop(into)] value: Signal<T>,
    /// The values with their wire name and their label.
    options: Vec<(T, &'static str, &'static str)>,
    label: &'static str,
    /// The data attribute of each button, e.g. `data-tab`.
    attribute: &'static str,
    on_choose: Callback<T>,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    view! {
        <div class="segmented" role="group" aria-label=label>
            {options
                .into_iter()
                .map(|(option, name, text)| {
                    let pressed = move || value.get() == option;
                    view! {
                        <button
                            type="button"
                            class="segment"
                            class:active=pressed
                            aria-pressed=move || pressed().to_string()
                            on:click=move |_| on_choose.run(option)
                        >
                            {text}
                        </button>
                    }
                    .attr(attribute, name)
                })
                .collect_view()}
        </div>
    }
}
