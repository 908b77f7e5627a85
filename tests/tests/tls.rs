//! TLS with rustls: a self-signed certificate from rcgen, a client that
//! trusts only it, TLS 1.2 and 1.3, `Secure` cookies; plain HTTP to the TLS
//! port fails; bad key files are explained.

use std::time::Duration;

use vitals_tests::{TestServer, consent, server_args};

fn cert(dir: &std::path::Path) -> (String, String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&c, &cert_pem).unwrap();
    std::fs::write(&k, ck.signing_key.serialize_pem()).unwrap();
    (c.display().to_string(), k.display().to_string(), cert_pem)
}

fn client(cert_pem: &str, max: Option<reqwest::tls::Version>) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    let mut b = reqwest::Client::builder()
        .tls_certs_only([ca])
        .timeout(Duration::from_secs(5));
    if let Some(v) = max {
        b = b.tls_version_max(v);
    }
    b.build().unwrap()
}

#[tokio::test]
async fn serves_https_with_secure_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let (c, k, pem) = cert(dir.path());
    let mut args = server_args(dir.path());
    args.extend(["--tls-cert".into(), c, "--tls-key".into(), k]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start(&argv, &[]).unwrap();
    assert!(
        server.log_text().contains("https://"),
        "{}",
        server.log_text()
    );
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let url = format!("https://localhost:{port}");

    for max in [None, Some(reqwest::tls::Version::TLS_1_2)] {
        let r = client(&pem, max)
            .get(format!("{url}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["vitals-api"], "1");
        assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    }
    let p = client(&pem, None)
        .post(format!("{url}/api/v1/pairing"))
        .json(&consent())
        .send()
        .await
        .unwrap();
    assert_eq!(p.status(), 201);
    let cookie = p.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    // A client that does not trust the certificate is refused...
    let untrusting = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!("{url}/healthz"))
            .send()
            .await
            .is_err()
    );
    // ...and plain HTTP to the TLS port gets no HTTP answer.
    let plain = untrusting
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != 200);
}

#[test]
fn bad_tls_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (c, _, _) = cert(dir.path());
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a key").unwrap();
    let mut args = server_args(dir.path());
    args.extend([
        "--tls-cert".into(),
        c,
        "--tls-key".into(),
        bogus.display().to_string(),
    ]);
    let err = TestServer::start(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])
        .err()
        .unwrap();
    assert!(err.0.contains("bogus.pem"), "{}", err.0);
}

/// `vitals agent` against a self-hosted server with its own CA: refused
/// without `--ca-file` (verification is always on), uploads with it; and a
/// CA file that is not PEM is explained.
#[tokio::test]
async fn agent_trusts_a_custom_ca_only_when_told() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let (c, k, pem) = cert(dir.path());
    let mut args = server_args(dir.path());
    args.extend(["--tls-cert".into(), c.clone(), "--tls-key".into(), k]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start(&argv, &[]).unwrap();
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    let url = format!("https://localhost:{port}");
    let agent = |extra: &[&str]| {
        Command::new(vitals_tests::workspace_bin("vitals"))
            .args(["agent", "--server", &url, "--interval-ms", "250"])
            .args(["--accept-policy", vitals_shared::policy::version()])
            .arg("--data-dir")
            .arg(dir.path().join("agent"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Without the CA: the policy cannot even be fetched; exit 4 (server).
    let out = agent(&[]).wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let out = agent(&["--ca-file", not_pem.to_str().unwrap()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PEM certificate"));
    // With it: registers and uploads.
    let mut child = agent(&["--ca-file", &c]);
    let http = client(&pem, None);
    let t = std::time::Instant::now();
    let stored = loop {
        let m = http
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let rows = vitals_tests::metric_sum(&m, "vitals_ingest_rows_total", "table=\"cpu\"");
        if rows >= 2 || t.elapsed() > Duration::from_secs(15) {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        stored >= 2,
        "the agent stored {stored} rows over TLS with --ca-file"
    );
}
