use crate::api::auth::{begin_totp_setup, confirm_totp_setup, get_account_security};
use crate::domain::{check_totp_code, AccountSecurity, TotpSetup};
use crate::ui::auth::{AuthContext, CodeField, SubmitButton, TotpSecret};
use leptos::prelude::*;

/// Two-step sign-in: its state, and adding an authenticator app (secret and QR code, then the
/// app's first code).
#[component]
pub fn AuthenticatorCard() -> impl IntoView {
    let auth = AuthContext::expect();
    let security = RwSignal::new(None::<AccountSecurity>);
    let setup = RwSignal::new(None::<TotpSetup>);
    let code = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);

    let load = Action::new_local(|_: &()| get_account_security());
    load.dispatch(());
    Effect::new(move |_| match load.value().get() {
        Some(Ok(s)) => security.set(Some(s)),
        Some(Err(e)) => error.set(Some(auth.message_for(&e))),
        None => {}
    });

    let begin = Action::new_local(|_: &()| begin_totp_setup());
    Effect::new(move |_| match begin.value().get() {
        Some(Ok(s)) => {
            error.set(None);
            setup.set(Some(s));
        }
        Some(Err(e)) => error.set(Some(auth.message_for(&e))),
        None => {}
    });

    let confirm = Action::new_local(|code: &String| confirm_totp_setup(code.clone()));
    let confirming = confirm.pending();
    Effect::new(move |_| match confirm.value().get() {
        Some(Ok(s)) => {
            setup.set(None);
            code.set(String::new());
            error.set(None);
            security.set(Some(s));
        }
        Some(Err(e)) => {
            code.set(String::new());
            error.set(Some(auth.message_for(&e)));
        }
        None => {}
    });

    let on_confirm = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed: String = code
            .get_untracked()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        match check_totp_code(&typed) {
            Ok(()) => {
                error.set(None);
                confirm.dispatch(typed);
            }
            Err(message) => error.set(Some(message)),
        }
    };

    let state = move || {
        match security.get() {
        None => "Checking…".to_owned(),
        Some(s) if !s.totp_available => {
            "Not available: this console signs in with passwords only (its built-in identity provider). Authenticator apps come with Cognito.".to_owned()
        }
        Some(s) if s.totp_enabled => {
            "On: signing in asks for the code of your authenticator app.".to_owned()
        }
        Some(_) => "Off: signing in asks for your password only.".to_owned(),
    }
    };
    let may_add = move || {
        security.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.totp_available && !s.totp_enabled)
        }) && setup.with(Option::is_none)
    };

    view! {
        <section class="card" aria-labelledby="totp-title" data-authenticator>
            <h2 id="totp-title">"Two-step sign-in"</h2>
            <p data-totp-state>{state}</p>
            <Show when=may_add>
                <button
                    type="button"
                    class="button primary"
                    disabled=begin.pending()
                    on:click=move |_| {
                        begin.dispatch(());
                    }
                >
                    "Add an authenticator app"
                </button>
            </Show>
            {move || {
                setup
                    .get()
                    .map(|s| {
                        view! {
                            <TotpSecret setup=s />
                            <form class="totp-confirm" on:submit=on_confirm>
                                <CodeField id="totp-code" label="Code shown by the app" value=code />
                                <SubmitButton busy=confirming label="Turn on" busy_label="Checking…" />
                                <button
                                    type="button"
                                    class="button ghost"
                                    on:click=move |_| setup.set(None)
                                >
                                    "Cancel"
                                </button>
                            </form>
                        }
                    })
            }}
            <p class="form-error" role="alert">{move || error.get()}</p>
        </section>
    }
}
