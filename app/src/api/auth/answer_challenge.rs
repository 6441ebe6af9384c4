use crate::domain::{AppError, ChallengeKind, SignInStep};
use leptos::prelude::*;

/// Answers the identity provider's question during a sign-in (a new password, a code from an
/// authenticator app): signed in, or the next question. The challenge's fields come flat (a
/// form post like every server function's).
#[server(endpoint = "auth/answer_challenge")]
pub async fn answer_challenge(
    kind: ChallengeKind,
    username: String,
    session: String,
    answer: String,
) -> Result<SignInStep, AppError> {
    use super::super::context;
    use crate::domain::SignInChallenge;
    context::with_status(
        async {
            let challenge = SignInChallenge {
                kind,
                username,
                session,
                totp: None,
            };
            let progress = context::service()?
                .answer_challenge(&challenge, &answer)
                .await?;
            Ok(super::sign_in_step(progress))
        }
        .await,
    )
}
