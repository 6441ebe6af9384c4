//! What a person needs to add an authenticator app: the secret, the `otpauth://` URI apps read
//! (Google's Key Uri Format, the de facto standard) and its QR code.
use app::domain::TotpSetup;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use qrcode::render::svg;
use qrcode::QrCode;

/// The name apps show above the code.
const ISSUER: &str = "boxpilot";

pub fn otpauth_uri(username: &str, secret: &str) -> String {
    let label = utf8_percent_encode(&format!("{ISSUER}:{username}"), NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{label}?secret={secret}&issuer={ISSUER}&algorithm=SHA1&digits=6&period=30"
    )
}

/// The secret, its URI and the URI as a QR code (an SVG data URL the page shows as an image,
/// so no markup from the server is ever inserted into the page).
pub fn totp_setup(username: &str, secret: &str) -> Result<TotpSetup, String> {
    let uri = otpauth_uri(username, secret);
    let code = QrCode::new(uri.as_bytes()).map_err(|e| format!("QR code: {e}"))?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg);
    Ok(TotpSetup {
        secret: secret.to_owned(),
        otpauth_uri: uri,
        qr_code: format!("data:image/svg+xml;base64,{data}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uri_names_the_user_and_the_secret() {
        let uri = otpauth_uri("ana@example.com", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/boxpilot%3Aana%40example%2Ecom?secret=JBSWY3DPEHPK3PXP&issuer=boxpilot&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn the_qr_code_is_an_svg_image() {
        let setup = totp_setup("ana", "JBSWY3DPEHPK3PXP").unwrap();
        let data = setup
            .qr_code
            .strip_prefix("data:image/svg+xml;base64,")
            .unwrap();
        let svg = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data).unwrap();
        let svg = String::from_utf8(svg).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<path"), "{svg}");
    }
}
