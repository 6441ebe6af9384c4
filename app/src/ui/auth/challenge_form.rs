use super::{CodeField, SubmitButton, TotpSecret};
use crate::api::auth::answer_challenge;
use crate::domain::{AppError, ChallengeKind, SignInChallenge, SignInStep};
use leptos::prelude::*;

/// The identity provider's question during a sign-in: a new password for a temporary one, the
/// code of an authenticator app, or setting one up. `on_step` gets what follows the answer;
/// `on_restart` goes back to the password form (with a message when the sign-in expired).
#[component]
pub fn ChallengeForm(
    challenge: SignInChallenge,
    on_step: Callback<SignInStep>,
    on_restart: Callback<Option<String>>,
) -> impl IntoView {
    let kind = challenge.kind;
    let answer = RwSignal::new(String::new());
    let repeat = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let submit = Action::new_local(move |(c, a): &(SignInChallenge, String)| {
        let (c, a) = (c.clone(), a.clone());
        async move { answer_challenge(c.kind, c.username, c.session, a).await }
    });
    let busy = submit.pending();
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(step)) => on_step.run(step),
        Some(Err(AppError::SignInExpired)) => on_restart.run(Some(
            "That took too long and the sign-in expired. Please sign in again.".into(),
        )),
        Some(Err(failure)) => {
            answer.set(String::new());
            repeat.set(String::new());
            error.set(Some(failure.to_string()));
        }
        None => {}
    });

    let pending = challenge.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let value = answer.get_untracked();
        if kind == ChallengeKind::NewPassword && value != repeat.get_untracked() {
            error.set(Some("the two passwords differ".into()));
            return;
        }
        let typed: String = match kind {
            ChallengeKind::NewPassword => value,
            _ => value.chars().filter(|c| !c.is_whitespace()).collect(),
        };
        if let Err(message) = kind.check_answer(&typed) {
            error.set(Some(message));
            return;
        }
        error.set(None);
        submit.dispatch((pending.clone(), typed));
    };

    let (title, lead) = match kind {
        ChallengeKind::NewPassword => (
            "Choose a new password",
            "Your password was temporary. Choose your own to continue.",
        ),
        ChallengeKind::TotpCode => (
            "Enter your code",
            "Open your authenticator app and enter the 6-digit code it shows for boxpilot.",
        ),
        ChallengeKind::TotpSetup => (
            "Set up two-step sign-in",
            "This account needs an authenticator app. Add boxpilot to it, then enter the code it shows.",
        ),
    };
    let is_password = kind == ChallengeKind::NewPassword;
    let setup = challenge.totp.clone();

    view! {
        <h1 id="login-title">{title}</h1>
        <p class="login-lead">{lead}</p>
        {setup.map(|setup| view! { <TotpSecret setup=setup /> })}
        <form class="login-form" on:submit=on_submit data-challenge=format!("{kind:?}")>
            {if is_password {
                view! {
                    <input
                        type="text"
                        name="username"
                        autocomplete="username"
                        value=challenge.username.clone()
                        hidden=true
                    />
                    <div class="field">
                        <label for="challenge-answer">"New password"</label>
                        <input
                            id="challenge-answer"
                            name="new-password"
                            type="password"
                            autocomplete="new-password"
                            required
                            node_ref=input
                            bind:value=answer
                        />
                    </div>
                    <div class="field">
                        <label for="challenge-repeat">"New password again"</label>
                        <input
                            id="challenge-repeat"
                            name="new-password-repeat"
                            type="password"
                            autocomplete="new-password"
                            required
                            bind:value=repeat
                        />
                    </div>
                }
                    .into_any()
            } else {
                view! {
                    <CodeField
                        id="challenge-answer"
                        label="6-digit code"
                        value=answer
                        node_ref=input
                    />
                }
                    .into_any()
            }}
            <p id="login-error" class="form-error" role="alert" aria-live="assertive">
                {move || error.get()}
            </p>
            <SubmitButton
                busy=busy
                label="Continue"
                busy_label="Checking…"
                class="button primary block"
            />
            <button
                type="button"
                class="button ghost block"
                on:click=move |_| on_restart.run(None)
            >
                "Start again"
            </button>
        </form>
    }
}
