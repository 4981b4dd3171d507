//! Transport security and proxies, end to end through `synergy-ls status` and the language
//! server: a TLS front (rustls, a certificate made by rcgen for the test) before the simulator,
//! and a forwarding HTTP proxy. Certificates are verified (an unknown issuer or a wrong host
//! name fails, with no verdicts), `caCertificates` adds a private CA, and `HTTP_PROXY` /
//! `NO_PROXY` are honoured.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS listener on 127.0.0.1 presenting a self-signed certificate for `names`, forwarding
/// to `backend`. Returns its port and the certificate in PEM.
async fn tls_front(names: &[&str], backend: std::net::SocketAddr) -> (u16, String) {
    let cert = rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let pem = cert.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let config = ServerConfig::builder_with_provider(Arc::new(tokio_rustls::rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (port, pem)
}

/// A forwarding HTTP proxy (absolute-form requests), counting the connections it carries.
async fn http_proxy(upstream: std::net::SocketAddr) -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let carried = Arc::new(AtomicU64::new(0));
    let count = carried.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let count = count.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read_exact(&mut byte).await.is_err() {
                        return;
                    }
                    head.push(byte[0]);
                }
                // `GET http://synergy.invalid:8080/path HTTP/1.1`, in proxy form, or nothing.
                let line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
                if !line.split(' ').nth(1).is_some_and(|u| u.starts_with("http://")) {
                    return;
                }
                let Ok(mut upstream) = TcpStream::connect(upstream).await else { return };
                count.fetch_add(1, Ordering::Relaxed);
                if upstream.write_all(&head).await.is_err() {
                    return;
                }
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, carried)
}

/// Runs `synergy-ls status` with a settings file and extra environment.
async fn status(server_url: &str, settings: &str, env: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.toml");
    std::fs::write(&file, settings).unwrap();
    let mut cmd = tokio::process::Command::new(BIN);
    cmd.args(["status", "--server-url", server_url, "--config"]).arg(&file).env("SYNERGY_TOKEN", TOKEN);
    for var in ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "ALL_PROXY"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), cmd.output()).await.unwrap().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains(TOKEN), "token in output: {text}");
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_are_verified_and_a_private_ca_can_be_added() {
    let sim = simulator().await;
    let (port, pem) = tls_front(&["localhost"], sim.addr()).await;
    let url = format!("https://localhost:{port}");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("private-ca.pem");
    std::fs::write(&ca, &pem).unwrap();

    // Self-signed, not trusted: refused, and said so.
    let (code, text) = status(&url, "", &[]).await;
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("unreachable") && text.to_lowercase().contains("certificate"), "{text}");
    // Trusted through caCertificates: connected.
    let trusted = format!("caCertificates = [{:?}]\n", ca.display().to_string());
    let (code, text) = status(&url, &trusted, &[]).await;
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("Connected to localhost:"), "{text}");
    // A certificate for another host name, even from a trusted CA, is refused.
    let (other_port, other_pem) = tls_front(&["synergy.other.example"], sim.addr()).await;
    std::fs::write(&ca, &other_pem).unwrap();
    let (code, text) = status(&format!("https://localhost:{other_port}"), &trusted, &[]).await;
    assert_eq!(code, 2, "{text}");
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    // A caCertificates file that is not PEM is a configuration error, said plainly.
    std::fs::write(&ca, "not a certificate").unwrap();
    let (code, text) = status(&url, &trusted, &[]).await;
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("holds no PEM certificate"), "{text}");

    // The language server: an untrusted certificate gives no verdicts and one warning.
    let mut lsp = Lsp::spawn(&[("SYNERGY_URL", &url), ("SYNERGY_TOKEN", TOKEN)]);
    lsp.initialize(json!({}), json!(null)).await;
    lsp.open("file:///ws/a.md", "markdown", "job:Riversde job:Riverside\n").await;
    assert!(lsp.diagnostics("file:///ws/a.md", |_| true).await.is_empty());
    let told = lsp.drain_messages(Duration::from_millis(300)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(lsp.shutdown().await.success());
}

/// The system's proxy (HTTP_PROXY, NO_PROXY) carries the requests to a server elsewhere, and
/// never those to a server on this machine: a loopback server is asked directly (as Windows
/// and Go's net/http do), so a proxy never sees a token sent to it in clear text.
#[tokio::test(flavor = "multi_thread")]
async fn http_proxy_and_no_proxy_are_honoured_and_loopback_is_asked_directly() {
    let sim = simulator().await;
    // A forwarding proxy that knows where synergy.invalid is (the name resolves nowhere else).
    let (proxy_port, carried) = http_proxy(sim.addr()).await;
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let remote = "http://synergy.invalid:8080";
    let insecure = "allowInsecureHttp = true\n";
    let (code, text) = status(remote, insecure, &[("HTTP_PROXY", &proxy)]).await;
    assert_eq!(code, 0, "{text}");
    assert_eq!(carried.load(Ordering::Relaxed), 1, "the request went through the proxy");
    let (code, text) = status(remote, insecure, &[("HTTP_PROXY", &proxy), ("NO_PROXY", "synergy.invalid")]).await;
    assert_eq!(code, 2, "NO_PROXY bypasses it (and the name resolves nowhere): {text}");
    assert_eq!(carried.load(Ordering::Relaxed), 1, "NO_PROXY bypasses it");
    for everything in ["HTTP_PROXY", "ALL_PROXY"] {
        let (code, text) = status(&sim.url(), "", &[(everything, &proxy)]).await;
        assert_eq!(code, 0, "{text}");
        assert_eq!(carried.load(Ordering::Relaxed), 1, "{everything}: loopback is asked directly");
    }
}

/// The Windows system proxy (Internet Settings in the registry, what the Windows proxy dialog
/// writes): used for a server elsewhere, with its bypass list, and never for loopback. Runs
/// under Wine (scripts/windows); it changes the Wine prefix's registry and turns it off again.
#[cfg(windows)]
#[tokio::test(flavor = "multi_thread")]
async fn windows_internet_settings_proxy() {
    let sim = simulator().await;
    let (proxy_port, carried) = http_proxy(sim.addr()).await;
    let key = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings";
    let reg = |value: &str, kind: &str, data: &str| {
        let out =
            std::process::Command::new("reg").args(["add", key, "/v", value, "/t", kind, "/d", data, "/f"]).output();
        assert!(out.as_ref().is_ok_and(|o| o.status.success()), "reg add {value}: {out:?}");
    };
    reg("ProxyEnable", "REG_DWORD", "1");
    reg("ProxyServer", "REG_SZ", &format!("127.0.0.1:{proxy_port}"));
    reg("ProxyOverride", "REG_SZ", "bypassed.invalid;<local>");
    let insecure = "allowInsecureHttp = true\n";
    let through = status("http://synergy.invalid:8080", insecure, &[]).await;
    let after_through = carried.load(Ordering::Relaxed);
    let bypassed = status("http://bypassed.invalid:8080", insecure, &[]).await;
    let direct = status(&sim.url(), "", &[]).await;
    reg("ProxyEnable", "REG_DWORD", "0");
    assert_eq!((through.0, after_through), (0, 1), "through the system proxy: {}", through.1);
    assert_eq!(bypassed.0, 2, "the bypass list is honoured (and the name resolves nowhere): {}", bypassed.1);
    assert_eq!(direct.0, 0, "{}", direct.1);
    assert_eq!(carried.load(Ordering::Relaxed), 1, "neither the bypassed name nor loopback went through the proxy");
}
