//! GET over HTTPS that also keeps the certificate chain the server sent, so the
//! thumbprint IAM would compute (SHA-1 of the top certificate of the JWKS host's
//! chain, facts §5) can be compared with the provider's ThumbprintList.

// Errors in words: the deepest cause's Display text, never Debug.
use crate::kubernetes::root_cause;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;

/// Largest discovery document or JWKS read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A fetched document and the chain it came with.
pub struct Fetched {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: Vec<u8>,
    /// Certificates the server sent, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
}

/// Trust roots: the system's, plus an extra PEM bundle (`--ca-file`).
pub fn roots(extra_pem: Option<&std::path::Path>) -> Result<rustls::RootCertStore, String> {
    let mut store = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        let _ = store.add(c);
    }
    if let Some(path) = extra_pem {
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        for c in certs {
            let c = c.map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            store
                .add(c)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        }
    }
    Ok(store)
}

/// SHA-1 of a certificate, lower-case hex (IAM thumbprints are case-insensitive).
pub fn sha1_hex(cert: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, cert)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// GETs an `https://` URL.
pub async fn get(
    url: &str,
    roots: Arc<rustls::RootCertStore>,
    timeout: Duration,
) -> Result<Fetched, String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("{url} is not https"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
            (h.to_string(), p.parse::<u16>().map_err(|e| e.to_string())?)
        }
        _ => (authority.to_string(), 443),
    };
    let work = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {}", root_cause(&e)))?;
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host}: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS with {host}:{port}: {}", root_cause(&e)))?;
        let chain: Vec<CertificateDer<'static>> = tls
            .get_ref()
            .1
            .peer_certificates()
            .map(|c| c.iter().map(|x| x.clone().into_owned()).collect())
            .unwrap_or_default();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| format!("HTTP with {host}: {}", root_cause(&e)))?;
        tokio::spawn(conn);
        let req = hyper::Request::get(path)
            .header("host", authority)
            .header("accept", "application/json")
            .body(Empty::<Bytes>::new())
            .map_err(|e| e.to_string())?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("GET {url}: {}", root_cause(&e)))?;
        let status = resp.status().as_u16();
        // An issuer's discovery document and JWKS are a few KB: a bigger answer is
        // refused, never buffered (a hostile or broken issuer cannot exhaust memory).
        let body = match http_body_util::Limited::new(resp.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes().to_vec(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(format!(
                    "GET {url}: the answer is larger than {} MiB: not read",
                    MAX_BODY_BYTES / (1024 * 1024)
                ))
            }
            Err(e) => return Err(format!("GET {url}: {}", root_cause(&*e))),
        };
        Ok(Fetched {
            status,
            body,
            chain,
        })
    };
    tokio::time::timeout(timeout, work).await.map_err(|_| {
        format!(
            "GET {url}: timed out after {} (--timeout)",
            crate::seconds(timeout)
        )
    })?
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha1_of_known_input() {
        assert_eq!(
            super::sha1_hex(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }
}
