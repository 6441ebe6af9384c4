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

fn body_op(summary: &str, params: Value, schema: Value, created: bool) -> Value {
    let mut o = op(summary, params, if created { "created" } else { "done" });
    o["requestBody"] =
        json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    if created {
        o["responses"]["201"] = o["responses"]["200"].take();
        o["responses"].as_object_mut().map(|r| r.remove("200"));
    }
    o["responses"]["409"] = json!({ "$ref": "#/components/responses/Error" });
    o
}

/// Bulk commands and desired state.
fn rollout_and_shadow_paths() -> Value {
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    let rollout_request = json!({
        "type": "object", "required": ["fleet", "name", "rate_per_minute"],
        "properties": {
            "fleet": { "type": "string" },
            "name": { "type": "string", "description": "command name in the catalogue" },
            "params": { "type": "object" },
            "target": { "type": "object", "properties": {
                "devices": { "type": "array", "items": { "type": "string" }, "description": "only these boxes of the fleet" },
                "online_only": { "type": "boolean" },
                "firmware": { "type": "string", "description": "only boxes that reported this firmware" } } },
            "rate_per_minute": { "type": "integer", "minimum": 1, "maximum": app::domain::MAX_ROLLOUT_RATE_PER_MINUTE },
            "abort": { "type": "object", "required": ["threshold_percent"], "properties": {
                "threshold_percent": { "type": "number", "minimum": 0, "exclusiveMaximum": 100 },
                "min_finished": { "type": "integer", "minimum": 1, "default": 10 } },
                "description": "stop when more than threshold_percent of the finished commands failed (failed, rejected, timed_out, expired), once min_finished have finished" },
            "ttl_secs": { "type": "integer", "minimum": 1, "maximum": 3600, "default": 60 }
        }
    });
    let shadow_update = json!({
        "type": "object", "required": ["desired", "version"],
        "properties": {
            "desired": { "type": "object", "description": "keys to set (number, boolean or string); null removes a key",
                "additionalProperties": { "type": ["number", "boolean", "string", "null"] } },
            "version": { "type": "integer", "minimum": 0, "description": "the version you read; another one is refused with 409" }
        }
    });
    json!({
        "/api/v1/rollouts": {
            "get": op("Rollouts of a fleet, newest first, with progress", json!([
                q("fleet", true, json!({ "type": "string" }), "fleet"),
                q("limit", false, json!({ "type": "integer", "minimum": 1, "maximum": 500, "default": 50 }), "at most")
            ]), "rollouts"),
            "post": body_op("Start a bulk command to a fleet or a filtered set of its boxes (operator and up): a rate, an abort rule; each box's command goes through the same checks and audit as a single command", json!([]), rollout_request, true)
        },
        "/api/v1/rollouts/{id}": { "get": op("One rollout: status, progress (targets, issued, commands per state)", json!([id.clone()]), "the rollout") },
        "/api/v1/rollouts/{id}/cancel": { "post": body_op("Cancel a running rollout: nothing more is sent, commands not delivered yet are cancelled; delivered ones run to their end. 409 if it already ended", json!([id]), json!({ "type": "object" }), false) },
        "/api/v1/devices/{device}/shadow": {
            "get": op("The box's desired state, reported state, delta and version", json!([device_param()]), "the shadow"),
            "put": body_op("Change the desired state (operator and up), naming the version it is based on; the box is sent the delta", json!([device_param()]), shadow_update, false)
        }
    })
}

/// Costs, alerts, alert rules and the Prometheus metrics.
fn monitoring_paths() -> Value {
    let fleet = |required| {
        q(
            "fleet",
            required,
            json!({ "type": "string" }),
            "fleet (`_console`: the console's own API usage, for those who see every fleet)",
        )
    };
    let rule = json!({
        "type": "object", "required": ["id", "fleet", "kind"],
        "description": "flat: the kind's fields sit beside id, fleet and kind; unknown members are refused. Kinds and their fields: GET /api/v1/monitoring/alerts (kinds).",
        "properties": {
            "id": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" },
            "fleet": { "type": "string" },
            "enabled": { "type": "boolean", "default": true },
            "kind": { "enum": ["cost_spike", "message_rate_spike", "loss_ratio_above", "reject_rate_rising", "box_offline_longer_than", "metric_above", "metric_below"] }
        }
    });
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } });
    json!({
        "/api/v1/monitoring/costs": { "get": op("What a fleet would cost on AWS (support and admin): line items from measured counts times the price table (its date and region), the hourly or daily series, and for the month the month-end projection", json!([
            fleet(true),
            q("period", false, json!({ "enum": ["hour", "day", "month"], "default": "month" }), "the last hour, the last 24 h, or the month so far (UTC)")
        ]), "a cost report") },
        "/api/v1/monitoring/alerts": { "get": op("Active and recent alerts with their notification deliveries, the rules, and the kinds of rule (support and admin)", json!([fleet(false)]), "alerts overview") },
        "/api/v1/monitoring/alert-rules": {
            "get": op("Alert rules of the fleets you see (support and admin)", json!([]), "rules"),
            "post": body_op("Create or replace an alert rule (admins). Bad thresholds, unknown metrics and unknown kinds are refused with the reason", json!([]), rule.clone(), true)
        },
        "/api/v1/monitoring/alert-rules/{id}": {
            "put": body_op("Replace an alert rule (admins); the body's id, if given, must be the path's", json!([id.clone()]), rule, false),
            "delete": op("Delete an alert rule (admins); its firing alerts resolve at the next evaluation", json!([id]), "deleted (204)")
        },
        "/metrics": { "get": {
            "summary": "Prometheus text format 0.0.4: per-fleet counters (received, accepted, rejected by reason, duplicates, lost, dropped, bytes, latency sum and count, connection minutes, API requests), boxes by presence, alerts firing. Bearer token of support or admin seeing every fleet.",
            "security": [{ "bearer": [] }],
            "responses": { "200": { "description": "metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                "401": { "$ref": "#/components/responses/Error" }, "403": { "$ref": "#/components/responses/Error" } } } }
    })
}

pub fn document() -> Value {
    let mut doc = base_document();
    for more in [rollout_and_shadow_paths(), monitoring_paths()] {
        if let (Some(paths), Value::Object(more)) = (doc["paths"].as_object_mut(), more) {
            paths.extend(more);
        }
    }
    doc
}

fn base_document() -> Value {
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
                    q("state", false, json!({ "enum": app::domain::CommandState::ALL.map(|s| s.as_str()) }), "only commands now in this state"),
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
            "/api/v1/monitoring/pipeline": { "get": op("Pipeline health of a fleet (support, admin): received, accepted, rejected by reason, duplicates, lost, dropped by the broker, ingestion latency, bytes; boxes ranked by loss", json!([
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
