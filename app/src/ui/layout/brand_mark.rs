use leptos::prelude::*;

/// The product mark (the same drawing as public/icon.svg), decorative.
#[component]
pub fn BrandMark() -> impl IntoView {
    view! {
        <svg class="brand-mark" viewBox="0 0 32 32" width="28" height="28" aria-hidden="true">
            <rect x="2" y="2" width="28" height="28" rx="7" fill="currentColor" />
            <path
                d="M9 12.5 16 8.5l7 4v7l-7 4-7-4z"
                fill="none"
                stroke="var(--brand-ink, #fff)"
                stroke-width="2.2"
                stroke-linejoin="round"
            />
            <path
                d="M9 12.5 16 16.5l7-4M16 16.5v7"
                fill="none"
                stroke="var(--brand-ink, #fff)"
                stroke-width="2.2"
                stroke-linejoin="round"
            />
        </svg>
    }
}
