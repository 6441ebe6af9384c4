//! Issue 3, item 6, the audit trail of commands: `GET /api/v1/audit/commands` (JSON and CSV) and
//! the `commands/audit` server function: filters, fleet isolation, any role may read its own
//! fleets, CSV quoting and injection defusing, refusals of bad parameters.
use boxpilot_tests::{now_ms, session_cookie, TestServer};
use serde_json::{json, Value};

async fn post_command(server: &TestServer, token: &str, device: &str, body: Value) -> (u16, Value) {
    let r = server
        .http
        .post(server.url(&format!("/api/v1/devices/{device}/commands")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn setpoint(value: f64) -> Value {
    json!({"name": "set_setpoint", "params": {"value": value}, "ttl_secs": 600})
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("an array: {list}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Two fleets, two operators in north, one in south, a viewer of north; commands from each
/// (boxes offline, so they stay `created`) and one refused (`rejected`).
struct Fixture {
    server: TestServer,
    ann: String,
    viewer: String,
    admin: String,
    /// ann -> n1, bob -> n2, ann -> n1 (rejected), carl -> s1; in issue order.
    ann_first: String,
    bob: String,
    ann_rejected: String,
    carl: String,
}

async fn fixture() -> Fixture {
    let server = TestServer::start().await;
    for (fleet, id) in [("north", "n1"), ("north", "n2"), ("south", "s1")] {
        server.add_device(fleet, id).await;
    }
    let ann = server.user_token("ann", &["operator", "fleet:north"]).await;
    let bob = server.user_token("bob", &["operator", "fleet:north"]).await;
    let carl = server
        .user_token("carl", &["operator", "fleet:south"])
        .await;
    let viewer = server.user_token("vera", &["viewer", "fleet:north"]).await;
    let admin = server.user_token("root", &["admin"]).await;
    let (status, c1) = post_command(&server, &ann, "n1", setpoint(4.5)).await;
    assert_eq!(status, 201, "{c1}");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, c2) = post_command(&server, &bob, "n2", setpoint(5.5)).await;
    assert_eq!(status, 201, "{c2}");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, refused) = post_command(&server, &ann, "n1", setpoint(999.0)).await;
    assert_eq!(status, 400, "{refused}");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, c4) = post_command(&server, &carl, "s1", setpoint(6.5)).await;
    assert_eq!(status, 201, "{c4}");
    // The refused command is recorded: find its id in the box's history.
    let (_, history) = server.get_json("/api/v1/devices/n1/commands", &ann).await;
    let ann_rejected = history
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["state"] == "rejected")
        .unwrap_or_else(|| panic!("the refused command is recorded: {history}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Fixture {
        server,
        ann,
        viewer,
        admin,
        ann_first: c1["id"].as_str().unwrap().to_owned(),
        bob: c2["id"].as_str().unwrap().to_owned(),
        ann_rejected,
        carl: c4["id"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn the_audit_lists_who_sent_what_newest_first_with_filters() {
    let f = fixture().await;
    let s = &f.server;
    let (status, all) = s
        .get_json("/api/v1/audit/commands?fleet=north", &f.ann)
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        ids(&all),
        vec![f.ann_rejected.clone(), f.bob.clone(), f.ann_first.clone()]
    );
    let first = &all[2];
    assert_eq!(first["issuer"], "user:ann");
    assert_eq!(first["device"], "n1");
    assert_eq!(first["fleet"], "north");
    assert_eq!(first["name"], "set_setpoint");
    assert_eq!(first["params"], json!({"value": 4.5}));
    assert_eq!(first["state"], "created");

    for (query, expected) in [
        (
            "&issuer=ann",
            vec![f.ann_rejected.clone(), f.ann_first.clone()],
        ),
        ("&issuer=user:bob", vec![f.bob.clone()]),
        ("&device=n2", vec![f.bob.clone()]),
        ("&state=rejected", vec![f.ann_rejected.clone()]),
        ("&state=created&device=n1", vec![f.ann_first.clone()]),
        ("&name=reboot", vec![]),
        ("&name=set_setpoint&limit=1", vec![f.ann_rejected.clone()]),
        ("&limit=2", vec![f.ann_rejected.clone(), f.bob.clone()]),
        (
            &format!("&from={}&to={}", now_ms() + 60_000, now_ms() + 120_000),
            vec![],
        ),
        (
            &format!("&to={}", first["issued_at"].as_i64().unwrap()),
            vec![f.ann_first.clone()],
        ),
        ("&from=2020-01-01T00:00:00Z&issuer=bob", vec![f.bob.clone()]),
    ] {
        let (status, got) = s
            .get_json(
                &format!("/api/v1/audit/commands?fleet=north{query}"),
                &f.ann,
            )
            .await;
        assert_eq!(status, 200, "{query}: {got}");
        assert_eq!(ids(&got), expected, "{query}");
    }
}

#[tokio::test]
async fn every_role_reads_only_its_own_fleets() {
    let f = fixture().await;
    let s = &f.server;
    // A viewer may read the audit of its fleet.
    let (status, north) = s
        .get_json("/api/v1/audit/commands?fleet=north", &f.viewer)
        .await;
    assert_eq!(status, 200, "{north}");
    assert_eq!(ids(&north).len(), 3);
    assert!(!ids(&north).contains(&f.carl));
    // Another fleet is forbidden, and naming no fleet is a bad request for a caller who does not
    // see every fleet.
    let (status, body) = s
        .get_json("/api/v1/audit/commands?fleet=south", &f.viewer)
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("south"),
        "{body}"
    );
    let (status, body) = s.get_json("/api/v1/audit/commands", &f.ann).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("fleet"),
        "{body}"
    );
    // An admin sees every fleet, with or without naming one.
    let (status, every) = s.get_json("/api/v1/audit/commands", &f.admin).await;
    assert_eq!(status, 200, "{every}");
    assert_eq!(
        ids(&every),
        vec![
            f.carl.clone(),
            f.ann_rejected.clone(),
            f.bob.clone(),
            f.ann_first.clone()
        ]
    );
    let (status, south) = s
        .get_json("/api/v1/audit/commands?fleet=south", &f.admin)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids(&south), vec![f.carl.clone()]);
    // Without credentials: 401.
    let r = s
        .http
        .get(s.url("/api/v1/audit/commands?fleet=north"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

#[tokio::test]
async fn bad_parameters_are_refused_with_a_clear_message() {
    let f = fixture().await;
    for (query, needle) in [
        ("fleet=north&limit=0", "limit must be between 1 and 1000"),
        ("fleet=north&limit=1001", "limit must be between 1 and 1000"),
        ("fleet=north&limit=ten", "limit must be a whole number"),
        ("fleet=north&state=done", "state must be one of"),
        ("fleet=north&from=yesterday", "from must be"),
        ("fleet=north&from=10&to=5", "from must not be after to"),
        ("fleet=north&format=xml", "format must be json or csv"),
        ("fleet=No%20Such", "fleet"),
        ("fleet=north&device=a%2Fb", "device"),
        ("fleet=north&colour=red", "colour"),
    ] {
        let (status, body) = f
            .server
            .get_json(&format!("/api/v1/audit/commands?{query}"), &f.ann)
            .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"], "bad_request", "{query}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{query}: {message}");
    }
}

/// Parses RFC 4180 CSV (quoted cells, doubled quotes, CRLF line ends).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        row.is_empty() && cell.is_empty(),
        "the last line ends with CRLF"
    );
    rows
}

#[tokio::test]
async fn the_csv_export_is_quoted_defused_and_an_attachment() {
    let f = fixture().await;
    let s = &f.server;
    // A free-text parameter with quotes and commas.
    let admin_diag = json!({"name": "diagnostics", "params": {"level": "basic", "note": "=HYPERLINK(\"x\",\"y\")"}});
    let (status, diag) = post_command(s, &f.admin, "n1", admin_diag).await;
    assert_eq!(status, 201, "{diag}");
    let r = s
        .http
        .get(s.url("/api/v1/audit/commands?fleet=north&format=csv"))
        .bearer_auth(&f.viewer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let header = |name: &str| {
        r.headers()
            .get(name)
            .unwrap_or_else(|| panic!("{name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"boxpilot-audit-north.csv\""
    );
    let text = r.text().await.unwrap();
    assert!(text.starts_with(
        "issued_at_utc,fleet,device,command,params,issuer,state,final_at_utc,detail\r\n"
    ));
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 5, "{text}");
    assert!(rows.iter().all(|r| r.len() == 9), "{rows:?}");
    let by_command = |name: &str, state: &str| {
        rows.iter()
            .find(|r| r[3] == name && r[6] == state)
            .unwrap_or_else(|| panic!("{name} {state}: {rows:?}"))
            .clone()
    };
    let diag_row = by_command("diagnostics", &rows[1][6]);
    assert_eq!(rows[1], diag_row, "newest first");
    assert_eq!(diag_row[5], "user:root");
    // The params cell is JSON with quotes and commas: quoted, and round-trips.
    let params: Value = serde_json::from_str(&diag_row[4]).unwrap();
    assert_eq!(params["note"], "=HYPERLINK(\"x\",\"y\")");
    assert!(
        text.contains("\"\"note\"\":\"\"=HYPERLINK"),
        "doubled quotes: {text}"
    );
    let rejected = by_command("set_setpoint", "rejected");
    assert_eq!(rejected[1], "north");
    assert_eq!(rejected[2], "n1");
    assert_eq!(rejected[5], "user:ann");
    assert!(
        rejected[0].ends_with('Z') && rejected[0].contains('T'),
        "{}",
        rejected[0]
    );
    assert!(!rejected[7].is_empty(), "a final state has its time");
    assert!(!rejected[8].is_empty(), "the refusal reason");
    let created = by_command("set_setpoint", "created");
    assert_eq!(created[7], "", "not final yet");

    // Unknown commands are refused and recorded under the name sent: a name a spreadsheet would
    // run as a formula is defused with a leading `'`.
    for name in ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2+3", "@SUM(A1)"] {
        let (status, refused) =
            post_command(s, &f.ann, "n2", json!({"name": name, "params": {}})).await;
        assert_eq!(status, 400, "{refused}");
    }
    let text = s
        .http
        .get(s.url("/api/v1/audit/commands?fleet=north&format=csv&state=rejected&device=n2"))
        .bearer_auth(&f.ann)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = parse_csv(&text);
    let names: Vec<_> = rows[1..].iter().map(|r| r[3].as_str()).collect();
    assert_eq!(
        names,
        vec![
            "'@SUM(A1)",
            "'-2+3",
            "'+1",
            "'=HYPERLINK(\"http://x\",\"y\")"
        ],
        "{text}"
    );
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
        "{text}"
    );
    for row in &rows[1..] {
        for cell in row {
            assert!(
                !cell.starts_with(['=', '+', '-', '@']),
                "{cell:?} would run as a formula"
            );
        }
    }

    // An admin's export of every fleet is named after all fleets.
    let r = s
        .http
        .get(s.url("/api/v1/audit/commands?format=csv"))
        .bearer_auth(&f.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"boxpilot-audit-all.csv\""
    );
}

#[tokio::test]
async fn the_console_reads_the_audit_through_a_server_function_and_the_cookie() {
    let f = fixture().await;
    let s = &f.server;
    let pw = s.add_user("vic", &["viewer", "fleet:north"]).await;
    let cookie = session_cookie(s, "vic", &pw).await;
    let call = |query: Value| {
        s.http
            .post(s.url("/api/commands/audit"))
            .header("cookie", cookie.clone())
            .json(&json!({ "query": query }))
            .send()
    };
    let r = call(json!({"fleet": "north", "issuer": "ann"}))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let entries: Value = r.json().await.unwrap();
    let got: Vec<_> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["fleet"], "north");
            e["command"]["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got, vec![f.ann_rejected.clone(), f.ann_first.clone()]);
    // Another fleet: refused with the REST API's status.
    let r = call(json!({"fleet": "south"})).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("south"));
    // The CSV link of the page: the session cookie authenticates the REST route.
    let r = s
        .http
        .get(s.url("/api/v1/audit/commands?fleet=north&format=csv&issuer=bob"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("user:bob"));
}
