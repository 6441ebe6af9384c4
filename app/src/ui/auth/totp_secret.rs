use crate::domain::TotpSetup;
use leptos::prelude::*;

/// The secret in groups of four, as people type it into an app.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new authenticator's QR code, with the secret to type in where scanning is not possible (on
/// the phone that is showing the page) and a link that opens an authenticator app there.
#[component]
pub fn TotpSecret(setup: TotpSetup) -> impl IntoView {
    let typed = grouped(&setup.secret);
    view! {
        <div class="totp-secret">
            <img
                class="totp-qr"
                src=setup.qr_code
                width="200"
                height="200"
                alt="QR code of the authenticator secret"
            />
            <div class="totp-manual">
                <p>"Scan it with an authenticator app, or enter this key:"</p>
                <code class="totp-key" data-secret=setup.secret.clone()>
                    {typed}
                </code>
                <a class="totp-open" href=setup.otpauth_uri>
                    "Open in an authenticator app on this device"
                </a>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_grouped_by_four() {
        assert_eq!(super::grouped("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
        assert_eq!(super::grouped("ABCDEF"), "ABCD EF");
    }
}
