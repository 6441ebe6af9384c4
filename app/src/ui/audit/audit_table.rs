use super::AuditRow;
use crate::domain::AuditEntry;
use leptos::prelude::*;

/// The audit lines, newest first: a table on wide screens, cards on phones (same markup).
#[component]
pub fn AuditTable(#[prop(into)] entries: Signal<Vec<AuditEntry>>) -> impl IntoView {
    view! {
        <div class="audit-group">
            <table class="audit-table">
                <caption class="visually-hidden">"Commands sent, newest first"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Sent"</th>
                        <th scope="col">"Fleet"</th>
                        <th scope="col">"Box"</th>
                        <th scope="col">"Command"</th>
                        <th scope="col">"By"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Ended"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || entries.get()
                        key=|e| (e.command.id.clone(), e.command.state, e.command.history.len())
                        children=|entry| view! { <AuditRow entry=entry /> }
                    />
                </tbody>
            </table>
        </div>
    }
}
