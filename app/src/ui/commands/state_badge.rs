use crate::domain::CommandState;
use leptos::prelude::*;

/// A command's state in words, with a colour per state (never colour alone).
#[component]
pub fn CommandStateBadge(state: CommandState) -> impl IntoView {
    let class = format!("cmd-state cmd-state-{}", state.as_str());
    let icon = match state {
        CommandState::Created | CommandState::Sent | CommandState::Accepted => "…",
        CommandState::Succeeded => "✓",
        CommandState::Expired => "⌛",
        CommandState::Cancelled => "⊘",
        CommandState::Failed | CommandState::Rejected | CommandState::TimedOut => "✕",
    };
    view! {
        <span class=class data-badge-state=state.as_str()>
            <span class="cmd-state-icon" aria-hidden="true">{icon}</span>
            {state.label()}
        </span>
    }
}
