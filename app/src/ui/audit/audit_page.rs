use super::{AuditFilters, AuditTable, FilterState};
use crate::api::commands::command_audit;
use crate::domain::{AppError, AuditEntry};
use crate::ui::auth::AuthContext;
use crate::ui::clock::Clock;
use leptos::prelude::*;

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// `/audit`: the commands sent to the boxes of the user's fleets (any role), with filters and a
/// CSV export of the same selection.
#[component]
pub fn AuditPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let clock = Clock::expect();
    let session = auth.session();
    let filters = FilterState::new(session.as_ref());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let error = RwSignal::new(None::<String>);
    let loaded = RwSignal::new(false);

    let audit = LocalResource::new(move || {
        let query = filters.query(now_ms());
        async move {
            match query {
                Ok(q) => command_audit(q).await,
                Err(message) => Err(AppError::BadRequest(message)),
            }
        }
    });
    Effect::new(move |_| match audit.get() {
        Some(Ok(list)) => {
            entries.set(list);
            loaded.set(true);
            error.set(None);
        }
        Some(Err(failure)) => {
            entries.set(Vec::new());
            loaded.set(true);
            error.set(Some(auth.message_for(&failure)));
        }
        None => {}
    });

    // The REST route with the same filters; the session cookie authenticates the download.
    let csv_href = move || {
        filters
            .query(clock.now.get())
            .ok()
            .map(|q| format!("/api/v1/audit/commands?{}", q.to_query_string("csv")))
    };
    let summary = move || match entries.with(Vec::len) {
        0 => String::new(),
        1 => "1 command".to_owned(),
        n => format!("{n} commands, newest first"),
    };
    let empty = move || {
        (loaded.get() && error.with(Option::is_none) && entries.with(Vec::is_empty))
            .then(|| view! { <p class="empty">"No command matches these filters."</p> })
    };

    view! {
        <section class="page audit-page" aria-labelledby="audit-title" data-audit>
            <header class="page-header">
                <div>
                    <h1 id="audit-title">"Audit"</h1>
                    <p class="page-sub" aria-live="polite">{summary}</p>
                </div>
                <div class="audit-actions">
                    <button type="button" class="button ghost" on:click=move |_| audit.refetch()>
                        "Refresh"
                    </button>
                    {move || {
                        csv_href()
                            .map(|href| {
                                view! {
                                    <a class="button primary" href=href download data-audit-csv>
                                        "Download CSV"
                                    </a>
                                }
                            })
                    }}
                </div>
            </header>
            <AuditFilters filters=filters session=session />
            {move || {
                error.get().map(|text| view! { <p class="banner error" role="alert">{text}</p> })
            }}
            <Show when=move || !loaded.get()>
                <div class="loading inline" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    "Loading the audit…"
                </div>
            </Show>
            {empty}
            <Show when=move || entries.with(|e| !e.is_empty())>
                <AuditTable entries=entries />
            </Show>
        </section>
    }
}
