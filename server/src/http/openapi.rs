//! `GET /api/openapi.json`: the REST API described as OpenAPI 3.1.
use axum::Json;
use serde_json::{json, Value};

fn op(summary: &str, params: Value, ok: &str) -> Value {
    json!({
        "summary": summary,
        "parameters": params,
        "security": [{ "bearer": [] }, { "session": [] }],
        "responses": {
            "200": { "description": ok },
            "400": { "$ref": "#/components/responses/Error" },
            "401": { "$ref": "#/components/responses/Error" },
            "403": { "$ref": "#/components/responses/Error" },
            "404": { "$ref": "#/components/responses/Error" }
        }
    })
}

fn q(name: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": required, "schema": schema, "description": description })
}

fn device_param() -> Value {
    json!({ "name": "device", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } })
}

pub fn document() -> Value {
    let credentials = json!({ "type": "object", "required": ["username", "password"], "properties": { "username": { "type": "string" }, "password": { "type": "string" } } });
    json!({
        "openapi": "3.1.0",
        "info": { "title": "boxpilot API", "version": "1", "description": "Fleet console API. Scripts send `Authorization: Bearer <access token>` from /api/v1/auth/login." },
        "paths": {
            "/healthz": { "get": { "summary": "Liveness and readiness of each adapter", "security": [], "responses": { "200": { "description": "ready" }, "503": { "description": "an adapter is not ready" } } } },
            "/api/v1/auth/login": { "post": { "summary": "Log in; returns access, id and refresh tokens, or a challenge", "security": [],
                "requestBody": { "required": true, "content": { "application/json": { "schema": credentials } } },
                "responses": { "200": { "description": "tokens or challenge" }, "401": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/auth/refresh": { "post": { "summary": "New access and id tokens from a refresh token", "security": [],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["username", "refresh_token"] } } } },
                "responses": { "200": { "description": "tokens" }, "401": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/auth/logout": { "post": { "summary": "Revoke a refresh token", "security": [],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["refresh_token"] } } } },
                "responses": { "204": { "description": "revoked" } } } },
            "/api/v1/auth/challenge": { "post": { "summary": "Answer a login challenge (Cognito shape)", "security": [], "responses": { "400": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/devices": { "get": op("Boxes the caller may see, with presence and latest values", json!([
                q("fleet", false, json!({ "type": "string" }), "only this fleet"),
                q("q", false, json!({ "type": "string" }), "substring of the box id"),
                q("online", false, json!({ "type": "boolean" }), "only online or offline boxes"),
                q("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), "page size"),
                q("after", false, json!({ "type": "string" }), "`next` of the previous page")
            ]), "a page of boxes: {items, next}") },
            "/api/v1/devices/{device}": { "get": op("One box", json!([device_param()]), "the box") },
            "/api/v1/devices/{device}/telemetry": { "get": op("A metric series, downsampled to at most max_points (first, min, max, last per bucket)", json!([
                device_param(),
                q("metric", true, json!({ "type": "string", "pattern": "^[a-z0-9_.]{1,64}$" }), "metric name"),
                q("from", false, json!({ "type": "integer" }), "ms since the epoch (default: to - 1 h)"),
                q("to", false, json!({ "type": "integer" }), "ms since the epoch (default: now)"),
                q("max_points", false, json!({ "type": "integer", "minimum": 1, "maximum": 10000, "default": 1000 }), "at most this many points")
            ]), "the series") },
            "/api/v1/commands/catalogue": { "get": op("The command catalogue of the box model: typed parameters, ranges, units, dangerous, min_role", json!([]), "the catalogue") },
            "/api/v1/devices/{device}/commands": {
                "get": op("The box's commands, newest first, with their states and history", json!([device_param()]), "command records"),
                "post": {
                    "summary": "Issue a command (operator and up; diagnostic commands support and up). Refused commands are recorded as rejected and nothing is sent.",
                    "parameters": [device_param()],
                    "security": [{ "bearer": [] }, { "session": [] }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": {
                        "type": "object", "required": ["name"],
                        "properties": { "name": { "type": "string" }, "params": { "type": "object" }, "ttl_secs": { "type": "integer", "minimum": 1, "maximum": 3600, "default": 60 } } } } } },
                    "responses": { "201": { "description": "the command record (created, or sent when the box is online)" },
                        "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
                        "403": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/audit/commands": { "get": {
                "summary": "The audit trail of commands, newest first: who sent what to which box, when, with what outcome. Any role, own fleets only.",
                "parameters": [
                    q("fleet", false, json!({ "type": "string" }), "fleet (required unless you see every fleet; another fleet is 403)"),
                    q("device", false, json!({ "type": "string" }), "only this box"),
                    q("issuer", false, json!({ "type": "string" }), "only this issuer (`user:ann` or `ann`)"),
                    q("state", false, json!({ "enum": ["created", "sent", "accepted", "succeeded", "failed", "rejected", "timed_out", "expired"] }), "only commands now in this state"),
                    q("name", false, json!({ "type": "string" }), "only this command (`set_setpoint`)"),
                    q("from", false, json!({ "type": ["integer", "string"] }), "issued at or after: ms since the epoch or RFC 3339 (default: the beginning)"),
                    q("to", false, json!({ "type": ["integer", "string"] }), "issued at or before: ms since the epoch or RFC 3339 (default: now)"),
                    q("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 1000, "default": 100 }), "at most this many"),
                    q("format", false, json!({ "enum": ["json", "csv"], "default": "json" }), "json: command records; csv: an attachment")
                ],
                "security": [{ "bearer": [] }, { "session": [] }],
                "responses": {
                    "200": { "description": "command records (JSON), or CSV with the header issued_at_utc,fleet,device,command,params,issuer,state,final_at_utc,detail (RFC 4180; cells starting with = + - @ are prefixed with ')",
                        "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } }, "text/csv": { "schema": { "type": "string" } } } },
                    "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
                    "403": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/ingest": { "post": {
                "summary": "Ingest one message (same rules as MQTT). A box authenticates with Basic <box id>:<secret>; an admin with a bearer token.",
                "parameters": [q("topic", true, json!({ "type": "string" }), "dt/boxpilot/{fleet}/{box}/telemetry or .../status")],
                "security": [{ "basic": [] }, { "bearer": [] }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
                "responses": { "202": { "description": "stored" }, "200": { "description": "duplicate, already stored" },
                    "413": { "description": "payload over 128 KiB" }, "422": { "description": "rejected: {reason, message}; kept as a dead letter" },
                    "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" }, "503": { "description": "not stored, send again" } } } },
            "/api/v1/monitoring/pipeline": { "get": op("Received, accepted, rejected by reason, duplicates and lost, per box (support, admin)", json!([
                q("fleet", true, json!({ "type": "string" }), "fleet"),
                q("window", false, json!({ "enum": ["5m", "1h", "24h"], "default": "1h" }), "window")
            ]), "counts") },
            "/api/v1/monitoring/dead-letters": { "get": op("Rejected messages with reasons, newest first (support, admin)", json!([
                q("fleet", false, json!({ "type": "string" }), "fleet (required unless you see every fleet)"),
                q("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 1000 }), "at most")
            ]), "dead letters") }
        },
        "components": {
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
                "basic": { "type": "http", "scheme": "basic" },
                "session": { "type": "apiKey", "in": "cookie", "name": "__Host-boxpilot-session" }
            },
            "responses": { "Error": { "description": "an error", "content": { "application/json": { "schema": {
                "type": "object", "required": ["error", "message"], "properties": { "error": { "type": "string" }, "message": { "type": "string" } } } } } } }
        }
    })
}

pub async fn openapi() -> Json<Value> {
    Json(document())
}
