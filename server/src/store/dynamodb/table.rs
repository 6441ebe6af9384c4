//! Creating the table (tests and local use; on AWS the deployment template creates it).
use super::item::{GSI1, GSI1_PK, GSI1_SK, GSI2, GSI2_PK, GSI2_SK, PK, SK, TTL};
use super::DynamoStore;
use crate::store::{StoreError, StoreResult};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use std::time::Duration;

fn build_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("table definition: {e}"))
}

fn key_schema(pk: &str, sk: &str) -> StoreResult<Vec<KeySchemaElement>> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(pk)
            .key_type(KeyType::Hash)
            .build()
            .map_err(build_err)?,
        KeySchemaElement::builder()
            .attribute_name(sk)
            .key_type(KeyType::Range)
            .build()
            .map_err(build_err)?,
    ])
}

fn gsi(name: &str, pk: &str, sk: &str) -> StoreResult<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(key_schema(pk, sk)?))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(build_err)
}

impl DynamoStore {
    /// Creates the table if it does not exist: on-demand capacity (PAY_PER_REQUEST), key
    /// `pk`/`sk`, the indexes `gsi1` (fleet listings) and `gsi2` (sparse: running rollouts,
    /// active alerts), TTL on `ttl`. Waits until it is active. Returns whether it was created.
    pub async fn create_table_if_missing(&self) -> StoreResult<bool> {
        let client = self.client();
        match client
            .describe_table()
            .table_name(self.table())
            .send()
            .await
        {
            Ok(_) => return Ok(false),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => return Err(self.fail("DescribeTable", e)),
        }
        let attrs = [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK]
            .into_iter()
            .map(|name| {
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(build_err)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let created = client
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(attrs))
            .set_key_schema(Some(key_schema(PK, SK)?))
            .global_secondary_indexes(gsi(GSI1, GSI1_PK, GSI1_SK)?)
            .global_secondary_indexes(gsi(GSI2, GSI2_PK, GSI2_SK)?)
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Created meanwhile by another process.
            Err(e) if e.code() == Some("ResourceInUseException") => {}
            Err(e) => return Err(self.fail("CreateTable", e)),
        }
        for _ in 0..600 {
            let status = client
                .describe_table()
                .table_name(self.table())
                .send()
                .await
                .map_err(|e| self.fail("DescribeTable", e))?
                .table
                .and_then(|t| t.table_status);
            if status == Some(TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        client
            .update_time_to_live()
            .table_name(self.table())
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .map_err(build_err)?,
            )
            .send()
            .await
            .map_err(|e| self.fail("UpdateTimeToLive", e))?;
        Ok(true)
    }
}
