//! Public cloud list prices, with the date they were read and the region they apply to.
//!
//! The default table (`prices/aws-us-east-1.json`) is compiled into the crate so that a cost figure
//! can always be produced; configuration may override any entry (another region, a negotiated
//! price) with [`PriceTable::with_overrides`]. Every entry is checked when a table is built, so a
//! cost computed from a [`PriceTable`] never multiplies by a missing, negative or non-finite price.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The table shipped with the crate: AWS US East (N. Virginia).
const DEFAULT_TABLE_JSON: &str = include_str!("../prices/aws-us-east-1.json");

/// Why a price table (or an override of one) was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PriceError {
    /// The text is not JSON of the expected shape. Unknown keys land here too, named by serde
    /// (`unknown field ...`): a typo in an override must not be silently ignored.
    #[error("price table is not valid: {0}")]
    Malformed(String),
    #[error("price entry `{entry}` is missing")]
    Missing { entry: &'static str },
    #[error("price entry `{entry}` must be a finite number >= 0, got {value}")]
    Invalid { entry: &'static str, value: f64 },
    #[error("price entry `cognito_free_mau` must be a whole number of users, got {value}")]
    FractionalFreeTier { value: f64 },
    #[error("price table region must not be empty")]
    EmptyRegion,
    #[error("price table currency must be USD, got `{0}`")]
    Currency(String),
}

/// The Lambda architecture a duration price applies to (arm64 is about 20% cheaper per GB-second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaArchitecture {
    Arm64,
    X86_64,
}

/// Declares the price entries once, and derives from that single list the complete table
/// ([`Prices`]), its all-optional twin used for parsing and overrides, and the entry names. A new
/// entry added here is therefore parsed, overridable, validated and named in errors.
macro_rules! price_entries {
    ($( $(#[$doc:meta])* $field:ident ),+ $(,)?) => {
        /// Every unit price of the cost model, in USD.
        #[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Prices {
            $( $(#[$doc])* pub $field: f64, )+
        }

        /// The same entries, each optional: what a file or an override may contain.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct PartialPrices {
            $( #[serde(default)] $field: Option<f64>, )+
        }

        impl PartialPrices {
            fn overlay(&mut self, other: PartialPrices) {
                $( if other.$field.is_some() { self.$field = other.$field; } )+
            }

            fn complete(self) -> Result<Prices, PriceError> {
                Ok(Prices { $( $field: present(stringify!($field), self.$field)?, )+ })
            }
        }

        impl Prices {
            /// The names of all entries, as they appear in JSON.
            pub const ENTRY_NAMES: &'static [&'static str] = &[$( stringify!($field) ),+];

            fn to_partial(self) -> PartialPrices {
                PartialPrices { $( $field: Some(self.$field), )+ }
            }

            fn validate(&self) -> Result<(), PriceError> {
                $( finite_non_negative(stringify!($field), self.$field)?; )+
                if self.cognito_free_mau.fract() != 0.0 {
                    return Err(PriceError::FractionalFreeTier { value: self.cognito_free_mau });
                }
                Ok(())
            }
        }
    };
}

price_entries! {
    /// IoT Core messaging, per million messages. A message is metered in 5 KB steps.
    iot_messaging_per_million,
    /// IoT Core connectivity, per million connection-minutes.
    iot_connectivity_per_million_minutes,
    /// IoT Core rules engine, per million rules triggered (metered in 5 KB steps of the message).
    iot_rules_triggered_per_million,
    /// IoT Core rules engine, per million actions executed (same 5 KB steps).
    iot_rule_actions_per_million,
    /// Lambda, per million requests.
    lambda_requests_per_million,
    /// Lambda duration, per GB-second, for [`PriceTable::lambda_architecture`].
    lambda_per_gb_second,
    /// SQS standard queue, per million requests (each 64 KB chunk of a request is one).
    sqs_requests_per_million,
    /// DynamoDB on-demand, per million write request units (1 KB each).
    dynamodb_write_units_per_million,
    /// DynamoDB on-demand, per million read request units (4 KB strongly consistent).
    dynamodb_read_units_per_million,
    /// DynamoDB storage (standard table class), per GB-month.
    dynamodb_storage_per_gb_month,
    /// API Gateway HTTP API, per million requests.
    api_gateway_http_per_million,
    /// Cognito user pool, per monthly active user beyond the free tier.
    cognito_per_mau,
    /// Cognito monthly active users that are free each month (a count, not a price).
    cognito_free_mau,
}

fn present(entry: &'static str, value: Option<f64>) -> Result<f64, PriceError> {
    value.ok_or(PriceError::Missing { entry })
}

fn finite_non_negative(entry: &'static str, value: f64) -> Result<(), PriceError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(PriceError::Invalid { entry, value })
    }
}

/// The file format of a complete table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    region: String,
    as_of: NaiveDate,
    currency: String,
    lambda_architecture: LambdaArchitecture,
    source: String,
    prices: PartialPrices,
}

/// The file format of an override: every member optional, unknown members refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    as_of: Option<NaiveDate>,
    #[serde(default)]
    lambda_architecture: Option<LambdaArchitecture>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    prices: Option<PartialPrices>,
}

/// A complete, validated set of prices for one region, read on `as_of`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceTable {
    region: String,
    as_of: NaiveDate,
    lambda_architecture: LambdaArchitecture,
    source: String,
    prices: Prices,
}

impl PriceTable {
    /// Builds a table from parts, refusing an empty region or a bad entry.
    pub fn new(
        region: impl Into<String>,
        as_of: NaiveDate,
        lambda_architecture: LambdaArchitecture,
        source: impl Into<String>,
        prices: Prices,
    ) -> Result<Self, PriceError> {
        let region = region.into();
        if region.trim().is_empty() {
            return Err(PriceError::EmptyRegion);
        }
        prices.validate()?;
        Ok(Self {
            region,
            as_of,
            lambda_architecture,
            source: source.into(),
            prices,
        })
    }

    /// The table shipped with the crate (AWS us-east-1).
    pub fn aws_us_east_1() -> Self {
        Self::from_json(DEFAULT_TABLE_JSON)
            .expect("the price table compiled into the crate is valid (checked by its unit test)")
    }

    /// Parses a complete table in the format of `prices/aws-us-east-1.json`.
    pub fn from_json(json: &str) -> Result<Self, PriceError> {
        let file: TableFile =
            serde_json::from_str(json).map_err(|e| PriceError::Malformed(e.to_string()))?;
        // Costs are reported in USD everywhere; another currency would silently mix units.
        if file.currency != "USD" {
            return Err(PriceError::Currency(file.currency));
        }
        Self::new(
            file.region,
            file.as_of,
            file.lambda_architecture,
            file.source,
            file.prices.complete()?,
        )
    }

    /// A copy of this table with the members present in `json` replaced, e.g.
    /// `{"region": "eu-west-1", "prices": {"iot_messaging_per_million": 1.0}}`.
    ///
    /// Unknown members are refused, so that a misspelt price is an error rather than a silently
    /// ignored setting; the merged table is validated like any other.
    pub fn with_overrides(&self, json: &str) -> Result<Self, PriceError> {
        let file: OverrideFile =
            serde_json::from_str(json).map_err(|e| PriceError::Malformed(e.to_string()))?;
        let mut prices = self.prices.to_partial();
        if let Some(overrides) = file.prices {
            prices.overlay(overrides);
        }
        Self::new(
            file.region.unwrap_or_else(|| self.region.clone()),
            file.as_of.unwrap_or(self.as_of),
            file.lambda_architecture.unwrap_or(self.lambda_architecture),
            file.source.unwrap_or_else(|| self.source.clone()),
            prices.complete()?,
        )
    }

    /// The cloud region the prices apply to, e.g. `us-east-1`.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The day the prices were read from the provider's pricing pages.
    pub fn as_of(&self) -> NaiveDate {
        self.as_of
    }

    /// Which Lambda architecture `lambda_per_gb_second` is for.
    pub fn lambda_architecture(&self) -> LambdaArchitecture {
        self.lambda_architecture
    }

    /// Where the prices come from (pages read, tiers chosen).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The unit prices.
    pub fn prices(&self) -> &Prices {
        &self.prices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_is_valid_and_dated() {
        let table = PriceTable::from_json(DEFAULT_TABLE_JSON).unwrap();
        assert_eq!(table.region(), "us-east-1");
        assert_eq!(
            table.as_of(),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
        assert_eq!(table.lambda_architecture(), LambdaArchitecture::Arm64);
        assert!(table.source().contains("aws.amazon.com"));
        assert_eq!(table.prices().iot_messaging_per_million, 1.0);
        assert_eq!(table.prices().cognito_free_mau, 10_000.0);
    }

    #[test]
    fn overrides_replace_only_what_they_name() {
        let base = PriceTable::aws_us_east_1();
        let merged = base
            .with_overrides(
                r#"{"region": "eu-west-1", "prices": {"iot_messaging_per_million": 1.1}}"#,
            )
            .unwrap();
        assert_eq!(merged.region(), "eu-west-1");
        assert_eq!(merged.prices().iot_messaging_per_million, 1.1);
        assert_eq!(
            merged.prices().lambda_requests_per_million,
            base.prices().lambda_requests_per_million
        );
        assert_eq!(merged.as_of(), base.as_of());
    }

    #[test]
    fn an_unknown_price_key_is_refused_by_name() {
        let err = PriceTable::aws_us_east_1()
            .with_overrides(r#"{"prices": {"iot_mesaging_per_million": 2.0}}"#)
            .unwrap_err();
        match err {
            PriceError::Malformed(msg) => {
                assert!(msg.contains("iot_mesaging_per_million"), "{msg}")
            }
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_top_level_key_is_refused() {
        let err = PriceTable::aws_us_east_1()
            .with_overrides(r#"{"regoin": "eu-west-1"}"#)
            .unwrap_err();
        assert!(matches!(err, PriceError::Malformed(ref m) if m.contains("regoin")));
    }

    #[test]
    fn a_negative_override_is_refused_naming_the_entry() {
        let err = PriceTable::aws_us_east_1()
            .with_overrides(r#"{"prices": {"cognito_per_mau": -0.01}}"#)
            .unwrap_err();
        assert_eq!(
            err,
            PriceError::Invalid {
                entry: "cognito_per_mau",
                value: -0.01
            }
        );
        assert!(err.to_string().contains("cognito_per_mau"));
    }

    #[test]
    fn a_missing_entry_is_refused_naming_it() {
        let mut value: serde_json::Value = serde_json::from_str(DEFAULT_TABLE_JSON).unwrap();
        value["prices"]
            .as_object_mut()
            .unwrap()
            .remove("dynamodb_read_units_per_million");
        let err = PriceTable::from_json(&value.to_string()).unwrap_err();
        assert_eq!(
            err,
            PriceError::Missing {
                entry: "dynamodb_read_units_per_million"
            }
        );
    }

    #[test]
    fn a_non_finite_price_is_refused() {
        let mut prices = *PriceTable::aws_us_east_1().prices();
        prices.lambda_per_gb_second = f64::NAN;
        let err = PriceTable::new(
            "us-east-1",
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            LambdaArchitecture::Arm64,
            "test",
            prices,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            PriceError::Invalid {
                entry: "lambda_per_gb_second",
                ..
            }
        ));
        prices.lambda_per_gb_second = f64::INFINITY;
        assert!(PriceTable::new(
            "us-east-1",
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            LambdaArchitecture::Arm64,
            "test",
            prices,
        )
        .is_err());
    }

    #[test]
    fn a_fractional_free_tier_and_other_currencies_are_refused() {
        let err = PriceTable::aws_us_east_1()
            .with_overrides(r#"{"prices": {"cognito_free_mau": 10.5}}"#)
            .unwrap_err();
        assert_eq!(err, PriceError::FractionalFreeTier { value: 10.5 });

        let eur = DEFAULT_TABLE_JSON.replace("\"USD\"", "\"EUR\"");
        assert_eq!(
            PriceTable::from_json(&eur).unwrap_err(),
            PriceError::Currency("EUR".into())
        );
    }

    #[test]
    fn an_empty_region_is_refused() {
        let err = PriceTable::aws_us_east_1()
            .with_overrides(r#"{"region": "  "}"#)
            .unwrap_err();
        assert_eq!(err, PriceError::EmptyRegion);
    }

    #[test]
    fn entry_names_cover_every_json_key_of_the_shipped_table() {
        let value: serde_json::Value = serde_json::from_str(DEFAULT_TABLE_JSON).unwrap();
        let mut keys: Vec<&str> = value["prices"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut names = Prices::ENTRY_NAMES.to_vec();
        keys.sort_unstable();
        names.sort_unstable();
        assert_eq!(keys, names);
    }
}
