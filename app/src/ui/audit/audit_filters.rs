use crate::domain::{AuditQuery, CommandState, DeviceId, FleetId, SessionInfo, TimeRange};
use crate::ui::chart::RangePicker;
use leptos::prelude::*;

/// The audit windows offered: the last hour, day or week.
pub const AUDIT_WINDOWS: [TimeRange; 3] = [TimeRange::Hour1, TimeRange::Hours24, TimeRange::Days7];

/// The filters of the audit page, as signals (text filters are applied on change, not per key).
#[derive(Clone, Copy)]
pub struct FilterState {
    /// A fleet id, or empty for every fleet (only for callers who see every fleet).
    pub fleet: RwSignal<String>,
    pub device: RwSignal<String>,
    pub issuer: RwSignal<String>,
    /// A state's wire name, or empty for any.
    pub state: RwSignal<String>,
    pub name: RwSignal<String>,
    pub window: RwSignal<TimeRange>,
}

impl FilterState {
    /// Starts on the session's first fleet (every fleet for those who see them all), last 24 h.
    pub fn new(session: Option<&SessionInfo>) -> Self {
        let fleet = match session {
            Some(s) if !s.all_fleets => s.fleets.first().map(|f| f.to_string()),
            _ => None,
        };
        Self {
            fleet: RwSignal::new(fleet.unwrap_or_default()),
            device: RwSignal::new(String::new()),
            issuer: RwSignal::new(String::new()),
            state: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            window: RwSignal::new(TimeRange::Hours24),
        }
    }

    /// The query for a window ending at `now` (ms). A text that is not a valid id is an error to
    /// show rather than a request the server would refuse.
    pub fn query(&self, now: i64) -> Result<AuditQuery, String> {
        let text = |s: RwSignal<String>| {
            let v = s.get().trim().to_owned();
            (!v.is_empty()).then_some(v)
        };
        let fleet = text(self.fleet)
            .map(|f| FleetId::parse(&f).map_err(|e| format!("Fleet: {e}")))
            .transpose()?;
        let device = text(self.device)
            .map(|d| DeviceId::parse(&d).map_err(|e| format!("Box: {e}")))
            .transpose()?;
        Ok(AuditQuery {
            fleet,
            device,
            issuer: text(self.issuer),
            state: text(self.state).and_then(|s| CommandState::parse(&s)),
            name: text(self.name),
            from: Some(now - self.window.get().millis()),
            to: None,
            limit: Some(500),
        })
    }
}

/// A text filter applied when the field changes (Enter or leaving it).
#[component]
fn TextFilter(
    id: &'static str,
    label: &'static str,
    placeholder: &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label class="audit-filter" for=id>
            <span class="audit-filter-label">{label}</span>
            <input
                id=id
                type="search"
                placeholder=placeholder
                autocomplete="off"
                spellcheck="false"
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// Fleet (from the session), box, issuer, state, command and time window.
#[component]
pub fn AuditFilters(filters: FilterState, session: Option<SessionInfo>) -> impl IntoView {
    let all_fleets = session.as_ref().is_some_and(|s| s.all_fleets);
    let fleets: Vec<String> = session
        .map(|s| s.fleets.iter().map(|f| f.to_string()).collect())
        .unwrap_or_default();
    let fleet = filters.fleet;
    let state = filters.state;
    let window = filters.window;
    view! {
        <form class="audit-filters" data-audit-filters on:submit=|ev| ev.prevent_default()>
            <label class="audit-filter" for="audit-fleet">
                <span class="audit-filter-label">"Fleet"</span>
                <select
                    id="audit-fleet"
                    prop:value=move || fleet.get()
                    on:change=move |ev| fleet.set(event_target_value(&ev))
                >
                    {all_fleets.then(|| view! { <option value="">"All fleets"</option> })}
                    {fleets
                        .into_iter()
                        .map(|f| view! { <option value=f.clone()>{f.clone()}</option> })
                        .collect_view()}
                </select>
            </label>
            <TextFilter id="audit-device" label="Box" placeholder="Any box" value=filters.device />
            <TextFilter
                id="audit-issuer"
                label="Issuer"
                placeholder="Anyone"
                value=filters.issuer
            />
            <label class="audit-filter" for="audit-state">
                <span class="audit-filter-label">"State"</span>
                <select
                    id="audit-state"
                    prop:value=move || state.get()
                    on:change=move |ev| state.set(event_target_value(&ev))
                >
                    <option value="">"Any state"</option>
                    {CommandState::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str()>{s.label()}</option> })
                        .collect_view()}
                </select>
            </label>
            <TextFilter
                id="audit-name"
                label="Command"
                placeholder="Any command"
                value=filters.name
            />
            <div class="audit-filter">
                <span class="audit-filter-label" aria-hidden="true">"Window"</span>
                <RangePicker range=window options=&AUDIT_WINDOWS label="Window" />
            </div>
        </form>
    }
}
