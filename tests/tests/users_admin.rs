//! The users page's server functions (admins): list, add with a one-time password, change
//! groups, disable and enable; refusals for other roles and for locking oneself out; a user
//! added from the console signs in, and a disabled one no longer does.
use boxpilot_tests::{session_cookie, TestServer};
use serde_json::Value;

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn admins_manage_users_from_the_console() {
    let server = TestServer::start().await;
    let admin_pw = server.add_user("ada", &["admin"]).await;
    let ops_pw = server.add_user("ops", &["operator", "fleet:f1"]).await;
    let admin = session_cookie(&server, "ada", &admin_pw).await;
    let operator = session_cookie(&server, "ops", &ops_pw).await;

    let (status, list) = server.call(&admin, "/api/users/list").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(names(&list), ["ada", "ops"]);

    // Other roles are refused every call.
    let (status, _) = server.call(&operator, "/api/users/list").await;
    assert_eq!(status, 403);
    let (status, _) = server
        .call_form(
            &operator,
            "/api/users/add",
            &[("username", "eve"), ("groups", "admin")],
        )
        .await;
    assert_eq!(status, 403);

    // Bad input gets its reason.
    for (username, groups, why) in [
        ("new", "", "role"),
        ("new", "pilot", "unknown group"),
        ("bad name!", "viewer", "username"),
        ("ops", "viewer", "already exists"),
    ] {
        let (status, answer) = server
            .call_form(
                &admin,
                "/api/users/add",
                &[("username", username), ("groups", groups)],
            )
            .await;
        assert_eq!(status, 400, "{username} {groups}: {answer}");
        assert!(answer.to_string().contains(why), "{why}: {answer}");
    }

    // Added with a one-time password, which works.
    let (status, created) = server
        .call_form(
            &admin,
            "/api/users/add",
            &[("username", "vic"), ("groups", " viewer , fleet:f1 ")],
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        created["user"]["groups"],
        serde_json::json!(["viewer", "fleet:f1"])
    );
    assert_eq!(created["temporary"], false);
    let password = created["password"].as_str().unwrap().to_owned();
    let vic = session_cookie(&server, "vic", &password).await;
    let (_, me) = server.call(&vic, "/api/auth/session").await;
    assert_eq!(me["role"], "viewer");

    // Groups changed: the next sign-in has the new role.
    let (status, changed) = server
        .call_form(
            &admin,
            "/api/users/set_groups",
            &[("username", "vic"), ("groups", "operator,fleet:f1")],
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let vic = session_cookie(&server, "vic", &password).await;
    let (_, me) = server.call(&vic, "/api/auth/session").await;
    assert_eq!(me["role"], "operator");

    // Disabled: no more sign-in; enabled again: it works.
    let (status, disabled) = server
        .call_form(
            &admin,
            "/api/users/set_enabled",
            &[("username", "vic"), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    let refused = server
        .http
        .post(server.url("/api/auth/login"))
        .form(&[("username", "vic"), ("password", &password)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let (status, _) = server
        .call_form(
            &admin,
            "/api/users/set_enabled",
            &[("username", "vic"), ("enabled", "true")],
        )
        .await;
    assert_eq!(status, 200);
    session_cookie(&server, "vic", &password).await;

    // An admin cannot lock themselves out; an unknown user is "not found".
    let (status, answer) = server
        .call_form(
            &admin,
            "/api/users/set_enabled",
            &[("username", "ada"), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = server
        .call_form(
            &admin,
            "/api/users/set_groups",
            &[("username", "ada"), ("groups", "viewer")],
        )
        .await;
    assert_eq!(status, 400, "{answer}");
    let (status, _) = server
        .call_form(
            &admin,
            "/api/users/set_enabled",
            &[("username", "nobody"), ("enabled", "false")],
        )
        .await;
    assert!(status == 400 || status == 404, "{status}");
}
