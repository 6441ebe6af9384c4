//! Commands: the catalogue, issuing a command to a box, a box's command history, the audit trail.
use super::caller::ApiCaller;
use super::extract::{json_body, parse_device};
use super::{ApiError, AppState};
use crate::commands::{Catalogue, CommandRecord, IssueRequest};
use app::domain::{AppError, AuditQuery, CommandState, DeviceId, FleetId};
use axum::extract::{Path, State};
use axum::http::header;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/commands/catalogue", get(catalogue))
        .route("/devices/{device}/commands", get(history).post(issue))
        .route("/audit/commands", get(audit))
}

/// Any logged-in role may read the catalogue.
async fn catalogue(State(s): State<AppState>, ApiCaller(_caller): ApiCaller) -> Json<Catalogue> {
    Json(s.commands.catalogue().clone())
}

async fn issue(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<CommandRecord>), ApiError> {
    let device = parse_device(&device)?;
    let req: IssueRequest = json_body(&body, "command request")?;
    let record = s.commands.issue(&caller, &device, req).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[derive(Deserialize)]
struct HistoryParams {
    limit: Option<usize>,
}

async fn history(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(device): Path<String>,
    super::routes_devices::QueryParams(p): super::routes_devices::QueryParams<HistoryParams>,
) -> Result<Json<Vec<CommandRecord>>, ApiError> {
    let device = parse_device(&device)?;
    Ok(Json(
        s.commands
            .history(&caller, &device, p.limit.unwrap_or(100))
            .await?,
    ))
}

/// `GET /api/v1/audit/commands`: every parameter optional except `fleet` for callers who do not
/// see every fleet; empty values count as absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditParams {
    fleet: Option<String>,
    device: Option<String>,
    issuer: Option<String>,
    state: Option<String>,
    name: Option<String>,
    /// ms since the epoch or RFC 3339.
    from: Option<String>,
    /// ms since the epoch or RFC 3339.
    to: Option<String>,
    limit: Option<String>,
    /// `json` (default) or `csv`.
    format: Option<String>,
}

fn bad(message: String) -> ApiError {
    ApiError(AppError::BadRequest(message))
}

fn present(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A time parameter: milliseconds since the epoch or an RFC 3339 date-time.
fn parse_time(name: &str, raw: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = raw.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(raw)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            bad(format!(
                "{name} must be milliseconds since the epoch or an RFC 3339 time, not {raw:?}"
            ))
        })
}

enum AuditFormat {
    Json,
    Csv,
}

fn audit_query(p: AuditParams) -> Result<(AuditQuery, AuditFormat), ApiError> {
    let format = match present(p.format).as_deref() {
        None | Some("json") => AuditFormat::Json,
        Some("csv") => AuditFormat::Csv,
        Some(other) => return Err(bad(format!("format must be json or csv, not {other:?}"))),
    };
    let fleet = present(p.fleet)
        .map(|f| FleetId::parse(&f).map_err(|e| bad(format!("fleet: {e}"))))
        .transpose()?;
    let device = present(p.device)
        .map(|d| DeviceId::parse(&d).map_err(|e| bad(format!("device: {e}"))))
        .transpose()?;
    let state = present(p.state)
        .map(|s| {
            CommandState::parse(&s).ok_or_else(|| {
                let names: Vec<_> = CommandState::ALL.iter().map(|s| s.as_str()).collect();
                bad(format!(
                    "state must be one of {}, not {s:?}",
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let from = present(p.from)
        .map(|t| parse_time("from", &t))
        .transpose()?;
    let to = present(p.to).map(|t| parse_time("to", &t)).transpose()?;
    let limit = present(p.limit)
        .map(|l| {
            l.parse::<usize>()
                .map_err(|_| bad(format!("limit must be a whole number, not {l:?}")))
        })
        .transpose()?;
    let query = AuditQuery {
        fleet,
        device,
        issuer: present(p.issuer),
        state,
        name: present(p.name),
        from,
        to,
        limit,
    };
    Ok((query, format))
}

/// The audit trail: who sent what to which box, when, with what outcome; JSON or CSV.
async fn audit(
    State(s): State<AppState>,
    ApiCaller(caller): ApiCaller,
    super::routes_devices::QueryParams(p): super::routes_devices::QueryParams<AuditParams>,
) -> Result<Response, ApiError> {
    let (query, format) = audit_query(p)?;
    let records = s.commands.audit(&caller, &query).await?;
    Ok(match format {
        AuditFormat::Json => Json(records).into_response(),
        AuditFormat::Csv => {
            let name = query
                .fleet
                .as_ref()
                .map_or("all".to_owned(), |f| f.to_string());
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"boxpilot-audit-{name}.csv\""),
                    ),
                ],
                audit_csv(&records),
            )
                .into_response()
        }
    })
}

/// The CSV header row of the audit export.
pub const AUDIT_CSV_HEADER: &str =
    "issued_at_utc,fleet,device,command,params,issuer,state,final_at_utc,detail";

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// One CSV cell: a cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
/// return) gets a leading `'`; cells with a comma, quote or line break are quoted (RFC 4180).
fn csv_cell(raw: &str) -> String {
    let mut cell = String::with_capacity(raw.len() + 3);
    if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        cell.push('\'');
    }
    cell.push_str(raw);
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// The audit lines as CSV (RFC 4180, CRLF line ends), with a header row.
fn audit_csv(records: &[CommandRecord]) -> String {
    let mut out = String::from(AUDIT_CSV_HEADER);
    out.push_str("\r\n");
    for c in records {
        let final_at = if c.state.is_final() {
            c.history.last().map_or(String::new(), |h| utc(h.at))
        } else {
            String::new()
        };
        let detail = c
            .history
            .iter()
            .rev()
            .find_map(|h| h.detail.clone())
            .unwrap_or_default();
        let cells = [
            utc(c.issued_at),
            c.fleet.to_string(),
            c.device.to_string(),
            c.name.clone(),
            c.params.to_string(),
            c.issuer.clone(),
            c.state.as_str().to_owned(),
            final_at,
            detail,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=1+2"), "'=1+2");
        assert_eq!(csv_cell("-5"), "'-5");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("+1,2"), "\"'+1,2\"");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn bad_parameters_are_refused_with_a_reason() {
        let params = |state: &str, from: &str, limit: &str, format: &str| AuditParams {
            fleet: Some("north".into()),
            device: None,
            issuer: None,
            state: Some(state.into()),
            name: None,
            from: Some(from.into()),
            to: None,
            limit: Some(limit.into()),
            format: Some(format.into()),
        };
        let (q, _) = audit_query(params("timed_out", "2026-11-30T12:00:00Z", "5", "csv")).unwrap();
        assert_eq!(q.state, Some(CommandState::TimedOut));
        assert_eq!(q.from, Some(1_796_040_000_000));
        assert_eq!(q.limit, Some(5));
        for (p, needle) in [
            (params("done", "1", "5", "json"), "state must be one of"),
            (params("sent", "yesterday", "5", "json"), "from must be"),
            (params("sent", "1", "many", "json"), "limit must be"),
            (params("sent", "1", "5", "xml"), "format must be"),
        ] {
            match audit_query(p) {
                Err(ApiError(AppError::BadRequest(m))) => assert!(m.contains(needle), "{m}"),
                _ => panic!("expected a 400 with {needle:?}"),
            }
        }
    }
}
