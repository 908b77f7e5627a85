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
