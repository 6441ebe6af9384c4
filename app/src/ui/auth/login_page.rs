use super::{AuthContext, ChallengeForm, SessionPhase, SessionState, SubmitButton};
use crate::api::auth::login;
use crate::domain::{AppError, SignInChallenge, SignInStep};
use crate::ui::layout::BrandMark;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;

/// Where to go after signing in: only a path of this site (no `//host` or scheme), so that a
/// crafted link cannot send the user elsewhere.
fn safe_next(next: Option<String>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/login") =>
        {
            path
        }
        _ => "/".to_owned(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = AuthContext::expect();
    let query = use_query_map();
    let navigate = use_navigate();

    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let password_input = NodeRef::<leptos::html::Input>::new();
    // The identity provider's pending question (new password, code), if any.
    let challenge = RwSignal::new(None::<SignInChallenge>);

    // Signed in (now or already): continue to the page asked for.
    Effect::new(move |_| {
        if auth.phase.get() == SessionPhase::SignedIn {
            let next = safe_next(query.with_untracked(|q| q.get("next")));
            navigate(
                &next,
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });

    let submit = Action::new_local(move |(user, pass): &(String, String)| {
        let (user, pass) = (user.clone(), pass.clone());
        async move { login(user, pass).await }
    });
    let busy = submit.pending();

    let on_step = Callback::new(move |step: SignInStep| match step {
        SignInStep::SignedIn(info) => auth.signed_in(info),
        SignInStep::Challenge(next) => challenge.set(Some(next)),
    });
    let on_restart = Callback::new(move |message: Option<String>| {
        challenge.set(None);
        error.set(message);
    });

    Effect::new(move |_| match submit.value().get() {
        Some(Ok(step)) => {
            password.set(String::new());
            on_step.run(step);
        }
        Some(Err(failure)) => {
            if matches!(failure, AppError::BadCredentials) {
                password.set(String::new());
                if let Some(input) = password_input.get_untracked() {
                    let _ = input.focus();
                }
            }
            error.set(Some(failure.to_string()));
        }
        None => {}
    });

    let notice = move || {
        auth.state.with(|s| match s {
            SessionState::SignedOut { notice, .. } => notice.clone(),
            _ => None,
        })
    };

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        error.set(None);
        submit.dispatch((username.get_untracked(), password.get_untracked()));
    };

    view! {
        <section class="login" aria-labelledby="login-title">
            <div class="login-card">
                <div class="login-brand">
                    <BrandMark />
                    <span>"boxpilot"</span>
                </div>
                {move || match challenge.get() {
                    Some(pending) => Either::Left(view! {
                        <ChallengeForm challenge=pending on_step=on_step on_restart=on_restart />
                    }),
                    None => Either::Right(view! {
                        <h1 id="login-title">"Sign in"</h1>
                        <p class="login-lead">"Watch and pilot your fleets of boxes."</p>
                        {move || {
                            notice()
                                .filter(|_| error.with(Option::is_none))
                                .map(|text| view! { <p class="notice" role="status">{text}</p> })
                        }}
                        <form class="login-form" on:submit=on_submit>
                            <div class="field">
                                <label for="login-username">"Username"</label>
                                <input
                                    id="login-username"
                                    name="username"
                                    type="text"
                                    autocomplete="username"
                                    autocapitalize="none"
                                    spellcheck="false"
                                    required
                                    bind:value=username
                                    aria-invalid=move || error.with(Option::is_some).to_string()
                                    aria-describedby="login-error"
                                />
                            </div>
                            <div class="field">
                                <label for="login-password">"Password"</label>
                                <input
                                    id="login-password"
                                    name="password"
                                    type="password"
                                    autocomplete="current-password"
                                    required
                                    node_ref=password_input
                                    bind:value=password
                                    aria-invalid=move || error.with(Option::is_some).to_string()
                                    aria-describedby="login-error"
                                />
                            </div>
                            <p id="login-error" class="form-error" role="alert" aria-live="assertive">
                                {move || error.get()}
                            </p>
                            <SubmitButton
                                busy=busy
                                label="Sign in"
                                busy_label="Signing in…"
                                class="button primary block"
                            />
                        </form>
                    }),
                }}
            </div>
        </section>
    }
}
