//! After a full session, neither the raw tokens nor the cookie value appear
//! anywhere in the SQLite files or in the debug log (grep of the bytes); the
//! hashed instance id does, which proves the grep can find what is there.
//! Also: SIGTERM shuts down cleanly (exit 0, store closed).

use std::time::Duration;

use serde_json::{Value, json};
use vitals_tests::{TestServer, consent, server_args};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn guid_bytes(s: &str) -> Vec<u8> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn tokens_never_reach_disk_or_logs() {
    let dir = tempfile::tempdir().unwrap();
    let args = server_args(dir.path());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = TestServer::start(&argv, &[("VITALS_LOG", "debug")]).unwrap();
    let url = server.url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let now = chrono::Utc::now().timestamp_millis();

    // App-first: register, upload, read everything.
    let t1 = vitals_tests::register(&http, &url).await;
    let batch = json!({"batch_id": uuid::Uuid::new_v4(),
        "cpu": [{"ts": now, "usage_pct": 3.0}], "ram": [{"ts": now, "used_bytes": 1, "total_bytes": 2}],
        "disc": [{"ts": now, "mount": "/", "used_bytes": 1, "total_bytes": 2}]});
    assert_eq!(
        http.post(format!("{url}/api/v1/ingest"))
            .bearer_auth(&t1)
            .json(&batch)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for path in [
        "/api/v1/me/series?metric=cpu",
        "/api/v1/me/stats",
        "/api/v1/me/export.csv?metric=disc",
    ] {
        assert_eq!(
            http.get(format!("{url}{path}"))
                .bearer_auth(&t1)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let live = http
        .get(format!("{url}/api/v1/me/live"))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    drop(live);
    // A bad request with a valid token logs a warning path too.
    let bad = http
        .post(format!("{url}/api/v1/ingest"))
        .bearer_auth(&t1)
        .json(&json!({"batch_id": uuid::Uuid::new_v4(), "cpu": [{"ts": 0, "usage_pct": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    // App → browser link and cookie.
    let link: Value = http
        .post(format!("{url}/api/v1/me/web-link"))
        .bearer_auth(&t1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claim = http
        .get(format!("{url}{}", link["url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(claim.status(), 303);
    let cookie = claim.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(
        http.get(format!("{url}/api/v1/me/stats"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Website-first: pairing, then the agent claims.
    let pairing = http
        .post(format!("{url}/api/v1/pairing"))
        .json(&consent())
        .send()
        .await
        .unwrap();
    assert_eq!(pairing.status(), 201);
    let code = pairing.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let claimed: Value = http
        .post(format!("{url}/api/v1/pairing/claim"))
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let t2 = claimed["token"].as_str().unwrap().to_owned();
    let instance2 = claimed["instance"].as_str().unwrap().to_owned();
    let mut b2 = batch.clone();
    b2["batch_id"] = json!(uuid::Uuid::new_v4());
    assert_eq!(
        http.post(format!("{url}/api/v1/ingest"))
            .bearer_auth(&t2)
            .json(&b2)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Delete the first instance.
    assert_eq!(
        http.delete(format!("{url}/api/v1/me"))
            .bearer_auth(&t1)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );

    let status = server.terminate().unwrap();
    assert!(
        status.success(),
        "SIGTERM exit: {status:?}\n{}",
        server.log_text()
    );
    let log = server.log_text();
    assert!(
        log.contains("instance registered") && log.contains("stopped; store closed"),
        "{log}"
    );

    let mut files: Vec<(String, Vec<u8>)> = vec![("log".into(), log.into_bytes())];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("vitals.sqlite")
        {
            files.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let db = files
        .iter()
        .find(|(n, _)| n.ends_with("vitals.sqlite"))
        .unwrap();
    assert!(
        contains(&db.1, &guid_bytes(&instance2)),
        "the grep cannot even find the instance id"
    );
    for (name, bytes) in &files {
        for secret in [&t1, &t2] {
            assert!(!contains(bytes, secret.as_bytes()), "a token is in {name}");
        }
        assert!(
            !contains(bytes, code.as_bytes()),
            "the pairing code is in {name}"
        );
    }
}
