//! TLS and mutual TLS end to end, with certificates made in the test (rcgen), and the refusal to
//! serve clear text beyond loopback.

use homecoming_client::{Client, ListQuery};
use homecoming_server::{App, Config};
use homecoming_tests::{Backend, backend_tests, spawn_app_with};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

backend_tests!(tls_and_mutual_tls_protect_the_connection);

struct Pki {
    ca: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["test-client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    Pki {
        ca: ca.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

async fn tls_and_mutual_tls_protect_the_connection(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki();
    let write = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    };
    let (cert, key, ca) = (
        write("server.pem", &pki.server_cert),
        write("server.key", &pki.server_key),
        write("ca.pem", &pki.ca),
    );
    let app = spawn_app_with(
        backend,
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &ca,
        ],
    )
    .await;
    let url = format!("https://localhost:{}", app.addr.port());
    let query = ListQuery::new();

    // The CA and a client certificate: served.
    let client = Client::builder(&url)
        .tls_ca_pem(&pki.ca)
        .tls_identity_pem(&pki.client_cert, &pki.client_key)
        .bearer_token(&app.admin_token)
        .connect()
        .await
        .unwrap();
    client.persons().list_page(&query, "").await.unwrap();

    // No client certificate: the handshake fails.
    let anonymous = Client::builder(&url)
        .tls_ca_pem(&pki.ca)
        .bearer_token(&app.admin_token)
        .connect()
        .await;
    match anonymous {
        Err(_) => {}
        Ok(c) => assert!(c.persons().list_page(&query, "").await.is_err()),
    }
    // Clear text to a TLS port: refused.
    let plain = Client::builder(format!("http://127.0.0.1:{}", app.addr.port()))
        .bearer_token(&app.admin_token)
        .connect()
        .await;
    match plain {
        Err(_) => {}
        Ok(c) => assert!(c.persons().list_page(&query, "").await.is_err()),
    }
    // A server certificate from another CA: the client refuses it.
    let other = self::pki().ca;
    let wrong_ca = Client::builder(&url)
        .tls_ca_pem(&other)
        .tls_identity_pem(&pki.client_cert, &pki.client_key)
        .connect()
        .await;
    match wrong_ca {
        Err(_) => {}
        Ok(c) => assert!(c.persons().list_page(&query, "").await.is_err()),
    }
}

#[tokio::test]
async fn clear_text_beyond_loopback_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let token = dir.path().join("token").display().to_string();
    let base = [
        "homecoming-server",
        "--listen",
        "0.0.0.0:0",
        "--database-url",
        &db,
        "--admin-token-file",
        &token,
    ];
    let refused = App::build(Config::from_args(base).unwrap()).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("without TLS"), "{message}");
    let mut allowed: Vec<&str> = base.to_vec();
    allowed.push("--allow-insecure");
    assert!(
        App::build(Config::from_args(allowed).unwrap())
            .await
            .is_ok()
    );
}
