//! What the Lambdas need from AWS (feature `aws`): one SDK configuration (rustls on ring, as the
//! DynamoDB store), the IoT Core data-plane publisher, the signing key from Secrets Manager, and
//! the environment the template sets.
use crate::identity::SigningKeys;
use crate::outbound::DevicePublisher;
use crate::store::DynamoStore;
use std::path::PathBuf;
use std::time::Duration;

/// A required environment variable, with a message naming it.
pub fn env(name: &str) -> Result<String, String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            format!("environment variable {name} is not set (deploy/template.yaml sets it)")
        })
}

/// An SDK configuration loader with rustls on ring (no aws-lc build), the region if given, and
/// an endpoint override if given (moto, DynamoDB Local, Alternator): there, without
/// `AWS_ACCESS_KEY_ID` or `AWS_PROFILE` in the environment, fixed local credentials.
///
/// The endpoint override is `endpoint`, else `AWS_ENDPOINT_URL` (the SDK's own variable, read
/// here only to choose the trust store): when it is `http://`, the TLS trust store is empty
/// instead of the system's roots (see [`http_client`]).
pub fn config_loader(region: Option<&str>, endpoint: Option<&str>) -> aws_config::ConfigLoader {
    let configured = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|_| !ignore_configured_endpoints());
    let http = http_client(endpoint.or(configured.as_deref()));
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(http);
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none()
            && std::env::var_os("AWS_PROFILE").is_none()
        {
            loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "local",
                "local",
                None,
                None,
                "boxpilot-local-endpoint",
            ));
        }
    }
    loader
}

/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`: the SDK then ignores `AWS_ENDPOINT_URL`.
fn ignore_configured_endpoints() -> bool {
    std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The SDK's HTTP client: rustls on ring. Its trust store is the system's roots, read and parsed
/// when the SDK first builds a connector (/etc/ssl/certs: the bundle and each file of the
/// directory; about 4 ms of the ingestion Lambda's local cold start, BENCHMARKS.md 8), except
/// when every call goes to a plain `http://` endpoint override (moto, DynamoDB Local): then an
/// empty trust store, so that nothing is loaded; an `https://` URL through that client finds no
/// trusted root and fails, it never goes out in clear. TLS and its roots are unchanged for every
/// `https://` endpoint, AWS's own included.
pub fn http_client(endpoint_override: Option<&str>) -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls;
    let builder = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(
        tls::rustls_provider::CryptoMode::Ring,
    ));
    if endpoint_override.is_some_and(|url| url.starts_with("http://")) {
        let context = tls::TlsContext::builder()
            .with_trust_store(tls::TrustStore::empty().with_native_roots(false))
            .build()
            .expect("an empty trust store is valid");
        builder.tls_context(context).build_https()
    } else {
        builder.build_https()
    }
}

/// The SDK configuration of the Lambda's region and role: short timeouts, the SDK's standard
/// retries.
pub async fn sdk_config() -> aws_config::SdkConfig {
    config_loader(None, None)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(5))
                .build(),
        )
        .load()
        .await
}

/// The store on the table `BOXPILOT_TABLE`.
pub fn dynamo_store(config: &aws_config::SdkConfig) -> Result<DynamoStore, String> {
    let table = env("BOXPILOT_TABLE")?;
    let region = config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    Ok(DynamoStore::from_sdk_config(
        config,
        table,
        format!("https://dynamodb.{region}.amazonaws.com"),
    ))
}

/// Sends to boxes through IoT Core's data plane (`iot-data` Publish, QoS 1): commands and desired
/// state, the embedded broker's `BrokerPublisher` on AWS.
pub struct IotDataPublisher {
    client: aws_sdk_iotdataplane::Client,
}

impl IotDataPublisher {
    /// `endpoint`: the account's `xxxx-ats.iot.<region>.amazonaws.com` (`BOXPILOT_IOT_DATA_ENDPOINT`).
    pub fn new(config: &aws_config::SdkConfig, endpoint: &str) -> Self {
        Self::from_client(iot_data_client(config, endpoint))
    }

    /// Over a client of [`iot_data_client`] (shared with the Device Shadow adapter).
    pub fn from_client(client: aws_sdk_iotdataplane::Client) -> Self {
        Self { client }
    }
}

/// A client of IoT Core's data plane (Publish, the Device Shadow service) at `endpoint`: the
/// account's `xxxx-ats.iot.<region>.amazonaws.com` (`https://` is added), or a local URL (moto).
pub fn iot_data_client(
    config: &aws_config::SdkConfig,
    endpoint: &str,
) -> aws_sdk_iotdataplane::Client {
    let url = if endpoint.starts_with("https://") || endpoint.starts_with("http://") {
        endpoint.to_owned()
    } else {
        format!("https://{endpoint}")
    };
    let conf = aws_sdk_iotdataplane::config::Builder::from(config)
        .endpoint_url(url)
        .build();
    aws_sdk_iotdataplane::Client::from_conf(conf)
}

/// A data-plane client for `boxpilot serve --broker iot`: the region's configuration and
/// `endpoint`. An `http://` endpoint is a local one (moto), with fixed local credentials when the
/// environment names none, as `--dynamodb-endpoint`; IoT Core's own endpoints are `https://`.
pub async fn iot_data_client_at(region: &str, endpoint: &str) -> aws_sdk_iotdataplane::Client {
    let local = endpoint.starts_with("http://").then_some(endpoint);
    let config = config_loader(Some(region), local).load().await;
    iot_data_client(&config, endpoint)
}

#[async_trait::async_trait]
impl DevicePublisher for IotDataPublisher {
    async fn publish(&self, topic: &str, payload: Vec<u8>) -> Result<(), String> {
        self.client
            .publish()
            .topic(topic)
            .qos(1)
            .payload(aws_sdk_iotdataplane::primitives::Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "iot-data publish on {topic}: {}",
                    aws_sdk_iotdataplane::error::DisplayErrorContext(&e)
                )
            })
    }
}

/// The server's RS256 key from the Secrets Manager secret `BOXPILOT_SIGNING_KEY_SECRET` (PKCS#8
/// PEM), the same key `boxpilot serve` keeps in its data directory. It is written once per
/// instance to a 0600 file under /tmp (the only writable place in Lambda) and loaded from there by
/// `SigningKeys::load_or_create`, the loader the embedded server uses.
pub async fn signing_keys(config: &aws_config::SdkConfig) -> Result<SigningKeys, String> {
    let secret = env("BOXPILOT_SIGNING_KEY_SECRET")?;
    let client = aws_sdk_secretsmanager::Client::new(config);
    let value = client
        .get_secret_value()
        .secret_id(&secret)
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read the signing key {secret}: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let pem = value
        .secret_string()
        .ok_or_else(|| format!("secret {secret} has no string value (expected a PKCS#8 PEM)"))?;
    keys_from_pem(pem, &std::env::temp_dir().join("boxpilot-keys"))
}

/// Loads a PKCS#8 PEM through the data-directory loader (`dir` is made 0700).
pub fn keys_from_pem(pem: &str, dir: &std::path::Path) -> Result<SigningKeys, String> {
    if !pem.contains("BEGIN PRIVATE KEY") {
        return Err("the signing key must be a PKCS#8 PEM (BEGIN PRIVATE KEY): openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048".into());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let path: PathBuf = dir.join("identity-signing-key.pem");
    if !path.exists() {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&path)
            .and_then(|mut f| f.write_all(pem.as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    SigningKeys::load_or_create(dir)
}

/// `(partition, region, account)` of a Lambda function ARN (`arn:aws:lambda:eu-west-1:123...:function:name`):
/// the authorizer names IoT resources of its own account and region.
pub fn arn_parts(function_arn: &str) -> Option<(String, String, String)> {
    let mut parts = function_arn.split(':');
    let (arn, partition, _service, region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (arn == "arn" && !region.is_empty() && account.len() == 12)
        .then(|| (partition.to_owned(), region.to_owned(), account.to_owned()))
}

/// Logs for Lambda: plain text lines (CloudWatch adds the time), `BOXPILOT_LOG` as the filter.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BOXPILOT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_ansi(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_name_their_account() {
        assert_eq!(
            arn_parts("arn:aws:lambda:eu-west-1:123456789012:function:boxpilot-dev-authorizer"),
            Some(("aws".into(), "eu-west-1".into(), "123456789012".into()))
        );
        assert_eq!(arn_parts("not-an-arn"), None);
    }
}
