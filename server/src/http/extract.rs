//! Reading request parts the same way in every route, with clear errors.
use super::ApiError;
use app::domain::{AppError, DeviceId};
use serde::de::DeserializeOwned;

/// A box id from the path.
pub fn parse_device(raw: &str) -> Result<DeviceId, ApiError> {
    DeviceId::parse(raw).map_err(|e| ApiError(AppError::BadRequest(e.to_string())))
}

/// A JSON body; serde's message (field, line, column) says what is wrong with it.
pub fn json_body<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError(AppError::BadRequest(format!("{what}: {e}"))))
}
