//! The SQS event that an event source mapping hands the ingestion Lambda (deploy/template.yaml:
//! the data rule's SQS action puts the rule's JSON, the same document as the direct IoT rule
//! event of [`super::rule_event`], in each message's body), and the partial-batch answer
//! (`ReportBatchItemFailures`): the records named in `batchItemFailures` go back to the queue
//! and are received again; the others are deleted.
//!
//! The types are the few fields used, in the shape of `aws_lambda_events::event::sqs` (whose
//! `sqs` feature would add `serde_with` to the build for nothing more).
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An SQS event: 1 to the mapping's batch size of messages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

/// One message of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsRecord {
    /// What `batchItemFailures` names.
    pub message_id: String,
    pub body: String,
    /// `ApproximateReceiveCount`, `SentTimestamp`, ...
    #[serde(default)]
    pub attributes: HashMap<String, String>,
    #[serde(default)]
    pub event_source: Option<String>,
}

impl SqsRecord {
    /// How many times the queue has handed out this message (1 the first time).
    pub fn receive_count(&self) -> u32 {
        self.attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
    }
}

/// The answer to an SQS event with `ReportBatchItemFailures`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsBatchResponse {
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    pub item_identifier: String,
}

impl SqsBatchResponse {
    pub fn add_failure(&mut self, message_id: impl Into<String>) {
        self.batch_item_failures.push(BatchItemFailure {
            item_identifier: message_id.into(),
        });
    }

    /// The message ids to be received again.
    pub fn failed_ids(&self) -> Vec<&str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }
}

/// Whether a Lambda event is an SQS event (`Records[*].eventSource == "aws:sqs"`), rather than
/// an IoT rule event (which has no `Records`).
pub fn is_sqs_event(event: &serde_json::Value) -> bool {
    event
        .get("Records")
        .and_then(|r| r.as_array())
        .and_then(|records| records.first())
        .and_then(|r| r.get("eventSource"))
        .and_then(|s| s.as_str())
        == Some("aws:sqs")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_has_the_documented_shape() {
        let mut answer = SqsBatchResponse::default();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({"batchItemFailures": []})
        );
        answer.add_failure("m-2");
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-2"}]})
        );
    }

    #[test]
    fn sqs_events_are_told_from_rule_events() {
        assert!(is_sqs_event(&serde_json::json!({
            "Records": [{"messageId": "m", "body": "{}", "eventSource": "aws:sqs"}]
        })));
        assert!(!is_sqs_event(&serde_json::json!({
            "payload": "e30=", "topic": "t", "client_id": "c", "received_at": 1
        })));
        assert!(!is_sqs_event(&serde_json::json!({"Records": []})));
    }
}
